import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Comments and docs cite the contract as "CONTRACT §n"; docs/contract.md is where §n is written
// down. A citation of a section that does not exist, or a renumbered section, fails here.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CONTRACT = readFileSync(join(ROOT, 'docs/contract.md'), 'utf8');

/** Section numbers of docs/contract.md, from its `## n. Title` headings, in order. */
const SECTIONS = [...CONTRACT.matchAll(/^## (\d+)\. \S/gm)].map((m) => Number(m[1]));

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') return [];
    return statSync(join(ROOT, path)).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every `§n` cited as the contract's, by file: `CONTRACT §1, §2` and `docs/contract.md §5`. */
function citations(): { file: string; section: number }[] {
  const files = [...filesUnder('src'), ...filesUnder('charts'), ...filesUnder('policies')];
  return files.flatMap((file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    return [...text.matchAll(/(?:CONTRACT|docs\/contract\.md)((?:(?:,|\s|and)*§\d+)+)/g)].flatMap(
      (m) => [...m[1]!.matchAll(/§(\d+)/g)].map((s) => ({ file, section: Number(s[1]) })),
    );
  });
}

describe('docs/contract.md', () => {
  it('numbers its sections 1 to 8 in order, as the citations expect', () => {
    expect(SECTIONS).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('holds every section that src, the chart and the default policy cite', () => {
    const cited = citations();
    expect(cited.length).toBeGreaterThan(10);
    const missing = cited.filter((c) => !SECTIONS.includes(c.section));
    expect(missing).toEqual([]);
  });

  it('links only to files that exist', () => {
    const links = [...CONTRACT.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    const broken = links.filter((link) => !existsSync(join(ROOT, 'docs', link)));
    expect(broken.map((link) => relative(ROOT, join(ROOT, 'docs', link)))).toEqual([]);
  });

  it('is linked from the README', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('(docs/contract.md)');
  });
});
