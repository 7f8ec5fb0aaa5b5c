import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileLine {
  readonly name: string;
  readonly where: string;
  readonly selfPercent: number;
}

export interface ProfileSummary {
  /** Wall time the profile covers, in microseconds. */
  readonly durationUs: number;
  readonly functions: ProfileLine[];
  /** Self time grouped by package or Node internal area. */
  readonly areas: { readonly area: string; readonly selfPercent: number }[];
}

function area(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] ?? url;
  if (url.startsWith('node:'))
    return url.replace(/^node:(internal\/)?/, 'node:').split('/')[0] ?? url;
  const src = /\/dist\/(src\/[^/]+)/.exec(url);
  if (src) return `meshwarden ${src[1]}`;
  return url;
}

/** Self time per function and per area from a `node --cpu-prof` file. */
export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const total = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0) || 1;
  const byFunction = new Map<string, { name: string; where: string; hits: number }>();
  const byArea = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const where =
      url === ''
        ? ''
        : `${url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    const key = `${name}@${where}`;
    const entry = byFunction.get(key) ?? { name, where, hits: 0 };
    entry.hits += hits;
    byFunction.set(key, entry);
    const a = area(url, name);
    byArea.set(a, (byArea.get(a) ?? 0) + hits);
  }
  const pct = (hits: number) => Math.round((hits / total) * 1000) / 10;
  return {
    durationUs: profile.endTime - profile.startTime,
    functions: [...byFunction.values()]
      .sort((a, b) => b.hits - a.hits)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfPercent: pct(f.hits) })),
    areas: [...byArea.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([a, hits]) => ({ area: a, selfPercent: pct(hits) })),
  };
}
