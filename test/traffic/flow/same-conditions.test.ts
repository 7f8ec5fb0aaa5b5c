/**
 * Whether two flow objects route on the same conditions (src/traffic/flow/same-conditions.ts):
 * an object that does shares the other's probe parts, so every field a probe is built from must
 * be compared.
 */
import { describe, expect, it } from 'vitest';
import { flowOf } from '../../../src/rules/traffic-edit.js';
import { sameConditions } from '../../../src/traffic/flow/same-conditions.js';
import type { FlowObject } from '../../../src/traffic/flow/model.js';

type Obj = Record<string, unknown>;

/** A VirtualService whose first route matches `match` and sends to v2 at `weight`, the rest to v1. */
function flow(match: Obj[] | undefined, weight = 100, extra: Obj[] = []): FlowObject {
  const object = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: {
      hosts: ['reviews'],
      http: [
        {
          ...(match ? { match } : {}),
          route: [
            { destination: { host: 'reviews', subset: 'v2' }, weight },
            { destination: { host: 'reviews', subset: 'v1' }, weight: 100 - weight },
          ],
        },
        ...extra,
        { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
      ],
    },
  };
  const built = flowOf(object, 'shop');
  if (!built) throw new Error('no flow');
  return built;
}

describe('sameConditions', () => {
  it('holds for an edit of weights only, and for the same object', () => {
    const match = [{ headers: { stage: { exact: 'canary' } }, uri: { prefix: '/api' } }];
    expect(sameConditions(flow(match, 10), flow(match, 30))).toBe(true);
    const one = flow(undefined);
    expect(sameConditions(one, one)).toBe(true);
  });

  it.each([
    ['a path value', [{ uri: { exact: '/a' } }], [{ uri: { exact: '/b' } }]],
    ['a path op', [{ uri: { exact: '/a' } }], [{ uri: { prefix: '/a' } }]],
    ['a path case', [{ uri: { exact: '/a' } }], [{ uri: { exact: '/a' }, ignoreUriCase: true }]],
    ['a method', [{ method: { exact: 'GET' } }], [{ method: { exact: 'POST' } }]],
    ['a header value', [{ headers: { s: { exact: 'a' } } }], [{ headers: { s: { exact: 'b' } } }]],
    ['a header name', [{ headers: { s: { exact: 'a' } } }], [{ headers: { t: { exact: 'a' } } }]],
    [
      'a header negated',
      [{ headers: { s: { exact: 'a' } } }],
      [{ withoutHeaders: { s: { exact: 'a' } } }],
    ],
    [
      'a query for a header',
      [{ headers: { s: { exact: 'a' } } }],
      [{ queryParams: { s: { exact: 'a' } } }],
    ],
    ['a port', [{ port: 80 }], [{ port: 81 }]],
    ['a gateway', [{ gateways: ['a'] }], [{ gateways: ['b'] }]],
    ['an opaque field', [{ authority: { exact: 'a' } }], [{ authority: { exact: 'b' } }]],
    [
      'an alternative more',
      [{ uri: { exact: '/a' } }],
      [{ uri: { exact: '/a' } }, { uri: { exact: '/b' } }],
    ],
    ['a condition more', [{ uri: { exact: '/a' } }], [{ uri: { exact: '/a' }, port: 80 }]],
    ['a match added', undefined, [{ uri: { exact: '/a' } }]],
  ] as const)('fails for %s', (_, a, b) => {
    expect(sameConditions(flow(a as never), flow(b as never))).toBe(false);
  });

  it('fails for a route more, or another protocol', () => {
    const tcpFree = flow(undefined);
    const withRoute = flow(undefined, 100, [
      { match: [{ uri: { exact: '/x' } }], route: [{ destination: { host: 'reviews' } }] },
    ]);
    expect(sameConditions(tcpFree, withRoute)).toBe(false);
    const tcp = {
      ...tcpFree,
      routes: tcpFree.routes.map((r) => ({ ...r, protocol: 'tcp' })),
    };
    expect(sameConditions(tcpFree, tcp)).toBe(false);
  });
});
