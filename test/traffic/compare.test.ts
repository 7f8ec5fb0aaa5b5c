import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import { pairRoutes, sharesChanged } from '../../src/traffic/compare.js';
import type { WeightedSplit } from '../../src/traffic/model.js';
import { readWeightedRoutes } from '../../src/mesh/routes.js';
import { formatPercent, percentagePoints, subtract } from '../../src/traffic/rational.js';
import { CORPUS, loadManifest } from './fixtures.js';

function routes(file: string, index = 0): readonly WeightedSplit[] {
  const object = loadManifest(join(CORPUS, file)).objects[index]!.object;
  const read = readWeightedRoutes(object);
  if (!read.supported) throw new Error(read.reason);
  expect(read.errors).toEqual([]);
  return read.splits;
}

/** `route: name a%→b%, ...` for every route of an update. */
function moves(before: readonly WeightedSplit[], after: readonly WeightedSplit[]): string[] {
  return pairRoutes(before, after).map(
    (r) =>
      `${r.label}: ${r.backends.map((b) => `${b.name} ${formatPercent(b.before)}→${formatPercent(b.after)}`).join(', ')}`,
  );
}

describe('old/new pairs of the corpus, compared on exact shares', () => {
  it('gloo two-phased canary: 100/0 → 50/50 → 0/100 on route 1', () => {
    const dir = 'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo';
    const [a, b, c] = [1, 2, 3].map((n) =>
      routes(`${dir}/3-progressive-traffic-shift-to-v2/vs-${n}.yaml`),
    );
    expect(moves(a!, b!)).toEqual([
      'route 0: echo (version=v2) 100%→100%',
      'route 1: echo (version=v1) 100%→50%, echo (version=v2) 0%→50%',
    ]);
    expect(moves(b!, c!)).toEqual([
      'route 0: echo (version=v2) 100%→100%',
      'route 1: echo (version=v1) 50%→0%, echo (version=v2) 50%→100%',
    ]);
    // The 50-point jump, exactly.
    const v2 = pairRoutes(a!, b!)[1]!.backends[1]!;
    expect(percentagePoints(subtract(v2.after, v2.before))).toEqual({ num: 50n, den: 1n });
    expect(sharesChanged(a!, b!)).toBe(true);
    expect(sharesChanged(b!, b!)).toBe(false);
  });

  it('gloo step 2 → step 3: a route turning from single to multi keeps its key', () => {
    const dir = 'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo';
    expect(
      moves(
        routes(`${dir}/2-initial-subset-routing-to-v2/vs-2.yaml`),
        routes(`${dir}/3-progressive-traffic-shift-to-v2/vs-1.yaml`),
      ),
    ).toEqual([
      'route 0: echo (version=v2) 100%→100%',
      'route 1: echo (version=v1) 100%→100%, echo (version=v2) 0%→0%',
    ]);
  });

  it('istio bookinfo: 90/10 → 80/20 → 50 v1 / 50 v3 (v2 leaves, v3 arrives)', () => {
    const dir = 'istio/samples/bookinfo/networking';
    const [a, b, c] = ['90-10', '80-20', '50-v3'].map((n) =>
      routes(`${dir}/virtual-service-reviews-${n}.yaml`),
    );
    expect(moves(a!, b!)).toEqual([
      'route 0: reviews (subset v1) 90%→80%, reviews (subset v2) 10%→20%',
    ]);
    expect(moves(b!, c!)).toEqual([
      'route 0: reviews (subset v1) 80%→50%, reviews (subset v2) 20%→0%, reviews (subset v3) 0%→50%',
    ]);
    const v3 = pairRoutes(b!, c!)[0]!.backends[2]!;
    expect([v3.inBefore, v3.inAfter]).toEqual([false, true]);
  });

  it('emojivoto v1alpha1: 500m/500m → 250m/750m → 0/1000m', () => {
    const dir = 'emojivoto/training/traffic-split';
    const [a, b, c] = ['web-svc-ts', '75-25', '100-0'].map((n) => routes(`${dir}/${n}.yml`));
    expect(moves(a!, b!)).toEqual(['backends: web-svc 50%→25%, web-svc-2 50%→75%']);
    expect(moves(b!, c!)).toEqual(['backends: web-svc 25%→0%, web-svc-2 75%→100%']);
  });

  it('linkerd leaf weights, v1alpha1 and v1alpha2: 500/0 → 500/500', () => {
    for (const [dir, ext] of [
      ['linkerd-smi/test/testdata', 'yaml'],
      ['linkerd2-2023/test/integration/viz/trafficsplit/testdata/v1alpha1', 'yaml'],
      ['linkerd2-2023/test/integration/viz/trafficsplit/testdata/v1alpha2', 'yaml'],
    ]) {
      expect(
        moves(
          routes(`${dir}/traffic-split-leaf-weights.${ext}`),
          routes(`${dir}/updated-traffic-split-leaf-weights.${ext}`),
        ),
      ).toEqual(['backends: backend-svc 100%→50%, failing-svc 0%→50%']);
    }
  });
});

describe('sharesChanged', () => {
  const split = (weights: Record<string, number>): readonly WeightedSplit[] => {
    const object: KubeObject = {
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: { name: 's', namespace: 'n' },
      spec: {
        service: 'root',
        backends: Object.entries(weights).map(([service, weight]) => ({ service, weight })),
      },
    };
    const r = readWeightedRoutes(object);
    return r.supported ? r.splits : [];
  };

  it('ignores scaling and zero-weight backends coming or going', () => {
    expect(sharesChanged(split({ a: 50, b: 50 }), split({ a: 1, b: 1 }))).toBe(false);
    expect(sharesChanged(split({ a: 100 }), split({ a: 100, b: 0 }))).toBe(false);
    expect(sharesChanged(split({ a: 100, b: 0 }), split({ a: 99, b: 1 }))).toBe(true);
  });
});
