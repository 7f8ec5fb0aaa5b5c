import { isMap, isPair, isScalar, isSeq, type Node } from 'yaml';

/**
 * The source offset of a field given as a rule names it (`spec.http[0].route`,
 * `metadata.annotations.meshwarden.io/stable-backends`): of the deepest part the document
 * holds, so a missing label points at the labels map. Keys may hold dots (annotation keys):
 * at each map the longest run of segments that is a key wins. Undefined when nothing matches.
 */
export function fieldLine(root: Node | null | undefined, field: string): number | undefined {
  const segments = field
    .split('.')
    .flatMap((s) => s.split(/(\[\d+\])/).filter((p) => p !== ''))
    .map((s) => (/^\[\d+\]$/.test(s) ? Number(s.slice(1, -1)) : s));
  let node: unknown = root;
  let found: number | undefined;
  let i = 0;
  while (i < segments.length) {
    const segment = segments[i];
    if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) break;
      node = item;
      found = rangeStart(item) ?? found;
      i += 1;
      continue;
    }
    if (!isMap(node) || typeof segment !== 'string') break;
    const map = node;
    let matched = false;
    for (let end = segments.length; end > i && !matched; end--) {
      const run = segments.slice(i, end);
      if (run.some((s) => typeof s === 'number')) continue;
      const key = run.join('.');
      const pair = map.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (!pair) continue;
      found = rangeStart(pair.key) ?? found;
      node = pair.value;
      i = end;
      matched = true;
    }
    if (!matched) break;
  }
  return found;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: readonly number[] } | null)?.range;
  return range?.[0];
}
