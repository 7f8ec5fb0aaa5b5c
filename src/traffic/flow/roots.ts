import type { RootRef } from './model.js';

function hostWithin(outer: string | undefined, inner: string | undefined): boolean {
  if (outer === undefined || outer === '*' || outer === inner) return true;
  if (inner === undefined) return false;
  return outer.startsWith('*.') && inner.endsWith(outer.slice(1));
}

/**
 * The old root whose traffic a new root is: the same key, or else the most specific old root
 * that contains it (a parent without port contains the parent on one port; `*` contains every
 * hostname). Undefined: the root is new to the object.
 */
export function containingRoot(oldRoots: readonly RootRef[], root: RootRef): RootRef | undefined {
  const same = oldRoots.find((r) => r.key === root.key);
  if (same) return same;
  let best: RootRef | undefined;
  let bestScore = -1;
  for (const r of oldRoots) {
    if (r.base !== root.base) continue;
    if ((r.gateway ?? 'mesh') !== (root.gateway ?? 'mesh')) continue;
    if (r.port !== undefined && r.port !== root.port) continue;
    if (r.section !== undefined && r.section !== root.section) continue;
    if (!hostWithin(r.host, root.host)) continue;
    const score = [r.port, r.section, r.host].filter((x) => x !== undefined && x !== '*').length;
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}
