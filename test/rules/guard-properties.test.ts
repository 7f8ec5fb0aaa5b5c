/**
 * Property: whatever an untrusted user does to names, order, matches, hosts and weights of a
 * VirtualService, over any sequence of applies, no allowed apply moves more than maxStepWeight
 * points of any class of a root's untargeted traffic to a backend other than its stable one, nor
 * more than maxTotalStepWeight (the same 20 by default) to all of them together, and
 * returning all traffic to the stable backend is always allowed. The oracle below is independent
 * of the implementation: it routes a few untargeted requests by Istio's first-match rule.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generatedVirtualService } from '../helpers/virtual-services.js';
import { admit, guardEngine, type Obj } from './guard-harness.js';

const SUBSETS = ['v1', 'v2', 'v3'] as const;
const PATHS = ['/', '/api', '/api/x', '/other'];
const MATCHES = [
  undefined,
  { uri: { prefix: '/api' } },
  { uri: { exact: '/' } },
  { headers: { 'x-canary': { exact: '1' } } },
] as const;

interface Route {
  name: string | undefined;
  match: (typeof MATCHES)[number];
  dests: [string, number][];
}
interface Spec {
  hosts: string[];
  routes: Route[];
}

const route = fc.record({
  name: fc.constantFrom(undefined, 'a', 'b', 'c'),
  match: fc.constantFrom(...MATCHES),
  dests: fc.array(fc.tuple(fc.constantFrom(...SUBSETS), fc.integer({ min: 0, max: 100 })), {
    minLength: 1,
    maxLength: 3,
  }),
});
const spec = fc.record({
  hosts: fc.subarray(['reviews', 'reviews.shop.svc.cluster.local', 'ratings'], { minLength: 1 }),
  routes: fc.array(route, { minLength: 1, maxLength: 3 }),
});

function toObject(s: Spec): Obj {
  return generatedVirtualService({
    hosts: s.hosts,
    http: s.routes.map((r) => ({ name: r.name, match: r.match ? [r.match] : [], dests: r.dests })),
  });
}

const fqdn = (h: string) => (h.includes('.') ? h : `${h}.shop.svc.cluster.local`);
type Dist = Map<string, number> | undefined; // undefined: no route serves it

function matches(m: Route['match'], path: string): boolean {
  if (!m) return true;
  if ('headers' in m) return false; // untargeted requests carry no header
  if ('uri' in m && 'prefix' in m.uri) return path.startsWith(m.uri.prefix);
  return 'exact' in m.uri && path === m.uri.exact;
}

/** Where untargeted requests to `path` go: first matching route, its shares in percent. */
function serve(s: Spec, path: string): Dist {
  const r = s.routes.find((x) => matches(x.match, path));
  if (!r) return undefined;
  const out = new Map<string, number>();
  const single = r.dests.length === 1;
  const total = single ? 100 : r.dests.reduce((a, [, w]) => a + w, 0);
  for (const [b, w] of r.dests)
    out.set(b, (out.get(b) ?? 0) + (total === 0 ? 0 : ((single ? 100 : w) * 100) / total));
  return out;
}

function common(s: Spec, need: (share: number) => boolean): string | undefined {
  let found: string | undefined;
  for (const p of PATHS) {
    const d = serve(s, p);
    if (!d) continue;
    const best = [...d].find(([, v]) => need(v))?.[0];
    if (best === undefined || (found !== undefined && best !== found)) return undefined;
    found = best;
  }
  return found;
}

const roots = (s: Spec) => [...new Set(s.hosts.map(fqdn))];
const isZero = (s: Spec) =>
  s.routes.some((r) => r.dests.length > 1 && r.dests.every(([, w]) => w === 0));

describe('untrusted edits to a VirtualService, as sequences', () => {
  it('never move more than maxStepWeight of untargeted traffic to backends other than the stable one, each or together', async () => {
    let allowedUpdates = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: 2, maxLength: 6 }), async (specs) => {
        const e = guardEngine();
        let stored: Obj | undefined;
        let current: Spec | undefined;
        let stable = new Map<string, string | undefined>();
        for (const next of specs) {
          const r = await admit(e, toObject(next), stored);
          if (!current) {
            if (!r.allowed) continue;
            stable = new Map(roots(next).map((root) => [root, common(next, (v) => v > 50)]));
          } else {
            if (!r.allowed) continue;
            allowedUpdates++;
            for (const root of roots(next)) {
              const known = roots(current).includes(root);
              for (const p of PATHS) {
                const before = known ? serve(current, p) : undefined;
                const after = serve(next, p);
                let together = 0;
                for (const [b, share] of after ?? []) {
                  if (known && b === stable.get(root)) continue;
                  const rise = share - (before?.get(b) ?? 0);
                  expect(
                    rise,
                    `${root} ${p} ${b}: ${JSON.stringify([current, next])}`,
                  ).toBeLessThanOrEqual(20 + 1e-9);
                  together += Math.max(0, rise);
                }
                expect(
                  together,
                  `${root} ${p} together: ${JSON.stringify([current, next])}`,
                ).toBeLessThanOrEqual(20 + 1e-9);
              }
            }
            const prev = stable;
            stable = new Map(
              roots(next).map((root) => [
                root,
                common(next, (v) => Math.abs(v - 100) < 1e-9) ??
                  (roots(current!).includes(root) ? prev.get(root) : undefined),
              ]),
            );
          }
          expect(
            isZero(next) && r.allowed && current === undefined,
            'an all-zero route is refused',
          ).toBe(false);
          current = next;
          stored = r.stored;
        }
      }),
      { numRuns: 150 },
    );
    // The property is not vacuous: many of the generated updates pass.
    expect(allowedUpdates).toBeGreaterThan(30);
  });

  it('always allow returning all traffic to the stable backend, whatever the routes look like', async () => {
    await fc.assert(
      fc.asyncProperty(spec, spec, async (first, second) => {
        const e = guardEngine({ weightShift: { maxStepWeight: 100 } });
        const created = await admit(e, toObject(first));
        fc.pre(created.allowed);
        const moved = await admit(e, toObject({ ...second, hosts: first.hosts }), created.stored);
        fc.pre(moved.allowed);
        const after = { ...second, hosts: first.hosts };
        // The stable backend after the two applies, as the mutator records it.
        const s0 = common(first, (v) => v > 50);
        const s1 = common(after, (v) => Math.abs(v - 100) < 1e-9) ?? s0;
        fc.pre(s1 !== undefined);
        const back: Spec = {
          ...after,
          routes: after.routes.map((r) => ({ ...r, dests: [[s1, 100]] })),
        };
        const r = await admit(guardEngine(), toObject(back), moved.stored);
        expect(r.allowed, r.message).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

describe('a split over several canaries, from all traffic on the stable version', () => {
  const split = (weights: readonly number[]): Obj => ({
    apiVersion: 'split.smi-spec.io/v1alpha4',
    kind: 'TrafficSplit',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: {
      service: 'reviews',
      backends: weights.map((weight, i) => ({ service: `reviews-v${i + 1}`, weight })),
    },
  });
  it('passes exactly when the canaries gain at most maxTotalStepWeight together', async () => {
    const seen = { allowed: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 25 }), { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 20, max: 60 }),
        async (canaries, total) => {
          const gained = canaries.reduce((a, b) => a + b, 0);
          fc.pre(gained <= 100);
          const policy = { weightShift: { maxTotalStepWeight: total } };
          const r = await admit(
            guardEngine(policy),
            split([100 - gained, ...canaries]),
            split([100]),
          );
          const expected = gained <= total && canaries.every((c) => c <= 20);
          expect(r.allowed, `${canaries.join('/')} under ${total}: ${r.message}`).toBe(expected);
          seen[r.allowed ? 'allowed' : 'refused']++;
        },
      ),
      { numRuns: 150 },
    );
    expect(seen.allowed).toBeGreaterThan(10);
    expect(seen.refused).toBeGreaterThan(10);
  });
});
