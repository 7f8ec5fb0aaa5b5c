/**
 * The Debian mirrors this machine's apt already uses, as one-line sources for mmdebstrap. The
 * stand-in base image is built from them, so the image test reaches only what apt reaches here
 * and names no mirror of its own.
 */

export interface AptSource {
  readonly types: readonly string[];
  readonly uri: string;
  readonly suite: string;
  readonly components: readonly string[];
}

/** Sources of the one-line format (`sources.list`, `*.list`). */
export function parseOneLine(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    // `[options]` may hold spaces; drop it whole before splitting.
    const line = raw
      .replace(/#.*$/, '')
      .replace(/\[[^\]]*\]/, ' ')
      .trim();
    const [type, uri, suite, ...components] = line.split(/\s+/);
    if (type === undefined || uri === undefined || suite === undefined) continue;
    if (type !== 'deb' && type !== 'deb-src') continue;
    sources.push({ types: [type], uri, suite, components });
  }
  return sources;
}

/** Sources of the deb822 format (`*.sources`): one per URI and suite of every enabled stanza. */
export function parseDeb822(text: string): AptSource[] {
  const sources: AptSource[] = [];
  const stanzas = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .split(/\n[ \t]*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split('\n')) {
      if (/^[ \t]/.test(line) && last !== undefined) {
        fields.set(last, `${fields.get(last) ?? ''} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m === null) continue;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!.trim());
    }
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const list = (key: string) => (fields.get(key) ?? '').split(/\s+/).filter((v) => v !== '');
    const types = list('types');
    for (const uri of list('uris'))
      for (const suite of list('suites'))
        sources.push({ types, uri, suite, components: list('components') });
  }
  return sources;
}

const POCKETS = ['', '-updates', '-security'] as const;

/**
 * `deb URI SUITE main` lines for `codename` (its release, -updates and -security), taken from
 * the binary sources of the host. A host on another Debian release lends its mirrors with the
 * suite renamed. Empty when the host has no Debian main component at all.
 */
export function mirrorsFor(
  sources: readonly AptSource[],
  codename: string,
  hostCodename: string | undefined,
): string[] {
  const binary = sources.filter((s) => s.types.includes('deb') && s.components.includes('main'));
  const pick = (release: string) =>
    binary.flatMap((s) => {
      const pocket = POCKETS.find((p) => s.suite === `${release}${p}`);
      return pocket === undefined ? [] : [`deb ${s.uri} ${codename}${pocket} main`];
    });
  let lines = pick(codename);
  if (lines.length === 0 && hostCodename !== undefined && hostCodename !== codename)
    lines = pick(hostCodename);
  return [...new Set(lines)];
}
