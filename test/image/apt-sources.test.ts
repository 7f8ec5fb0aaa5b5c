import { describe, expect, it } from 'vitest';
import { mirrorsFor, parseDeb822, parseOneLine } from './apt-sources.js';

// The image test builds its Debian base from the mirrors apt uses on the machine it runs on.
// These cases are the shapes /etc/apt/sources.list* takes on Debian installs and images.

const DEB822 = `Types: deb
# a comment inside a stanza
URIs: http://mirror.test/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://mirror.test/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://disabled.test/debian
Suites: bookworm
Components: main
Enabled: no
`;

describe('apt sources of the host', () => {
  it('reads deb822 stanzas: several suites per stanza, folded fields, disabled stanzas left out', () => {
    expect(parseDeb822(DEB822)).toEqual([
      {
        types: ['deb'],
        uri: 'http://mirror.test/debian',
        suite: 'bookworm',
        components: ['main', 'contrib'],
      },
      {
        types: ['deb'],
        uri: 'http://mirror.test/debian',
        suite: 'bookworm-updates',
        components: ['main', 'contrib'],
      },
      {
        types: ['deb', 'deb-src'],
        uri: 'http://mirror.test/debian-security',
        suite: 'bookworm-security',
        components: ['main'],
      },
    ]);
  });

  it('reads one-line sources with options and comments', () => {
    const text = [
      '# deb http://commented.test/debian bookworm main',
      'deb [arch=amd64 signed-by=/k.gpg] http://mirror.test/debian bookworm main non-free',
      'deb-src http://mirror.test/debian bookworm main',
      'deb http://mirror.test/debian-security bookworm-security main # trailing',
      'not a source line',
    ].join('\n');
    expect(parseOneLine(text)).toEqual([
      {
        types: ['deb'],
        uri: 'http://mirror.test/debian',
        suite: 'bookworm',
        components: ['main', 'non-free'],
      },
      {
        types: ['deb-src'],
        uri: 'http://mirror.test/debian',
        suite: 'bookworm',
        components: ['main'],
      },
      {
        types: ['deb'],
        uri: 'http://mirror.test/debian-security',
        suite: 'bookworm-security',
        components: ['main'],
      },
    ]);
  });

  it('gives mmdebstrap the release, updates and security pockets, main only, binary only', () => {
    const sources = [
      ...parseDeb822(DEB822),
      ...parseOneLine(
        'deb http://other.test/ubuntu jammy main\ndeb-src http://src.test/d bookworm main',
      ),
    ];
    expect(mirrorsFor(sources, 'bookworm', 'bookworm')).toEqual([
      'deb http://mirror.test/debian bookworm main',
      'deb http://mirror.test/debian bookworm-updates main',
      'deb http://mirror.test/debian-security bookworm-security main',
    ]);
  });

  it('on a host of another release, uses its mirrors with the suite renamed', () => {
    const sources = parseOneLine(
      'deb http://mirror.test/debian trixie main\ndeb http://mirror.test/debian-security trixie-security main',
    );
    expect(mirrorsFor(sources, 'bookworm', 'trixie')).toEqual([
      'deb http://mirror.test/debian bookworm main',
      'deb http://mirror.test/debian-security bookworm-security main',
    ]);
    expect(mirrorsFor(sources, 'bookworm', undefined)).toEqual([]);
    expect(
      mirrorsFor(parseOneLine('deb http://m.test/debian bookworm contrib'), 'bookworm', 'bookworm'),
    ).toEqual([]);
  });
});
