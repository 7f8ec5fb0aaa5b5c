/**
 * Settling a route's shares (`finish` in src/traffic/flow/build.ts): each backend's exact share of
 * the route's weights, summed where the same backend is written more than once, and display names
 * made distinct where two backends would read alike.
 */
import { describe, expect, it } from 'vitest';
import { flowOf } from '../../../src/rules/traffic-edit.js';
import { rational } from '../../../src/traffic/rational.js';
import { distinctNames } from '../../../src/traffic/read-common.js';
import {
  generatedVirtualService,
  type GeneratedDestination,
} from '../../helpers/virtual-services.js';

/** The shares of the one route of a VirtualService sending to `dests`. */
function routeShares(dests: readonly GeneratedDestination[]) {
  const object = generatedVirtualService({
    hosts: ['reviews'],
    http: [{ name: undefined, match: [], dests }],
  });
  const outcome = flowOf(object, 'shop')?.routes[0]?.outcome;
  if (outcome?.kind !== 'shares') throw new Error(`no shares: ${JSON.stringify(outcome)}`);
  return outcome.shares;
}

const sharesOf = (route: readonly [string, number][]) => [...routeShares(route)];

const host = 'reviews.shop.svc.cluster.local';

describe('route shares', () => {
  it('are each backend’s weight over the total, reduced, in written order', () => {
    expect(
      sharesOf([
        ['v1', 75],
        ['v2', 25],
      ]),
    ).toEqual([
      [`${host}#v1`, rational(3n, 4n)],
      [`${host}#v2`, rational(1n, 4n)],
    ]);
  });

  it('sum the weights of a backend written twice in one route', () => {
    expect(
      sharesOf([
        ['v1', 50],
        ['v2', 10],
        ['v1', 40],
      ]),
    ).toEqual([
      [`${host}#v1`, rational(9n, 10n)],
      [`${host}#v2`, rational(1n, 10n)],
    ]);
  });

  it('sum them in a long route too, and keep a backend at weight 0', () => {
    const route: [string, number][] = Array.from({ length: 12 }, (_, i) => [`v${i % 6}`, i]);
    const shares = new Map(sharesOf(route));
    // v0: 0 + 6, v5: 5 + 11; the total is 66.
    expect(shares.get(`${host}#v0`)).toEqual(rational(6n, 66n));
    expect(shares.get(`${host}#v5`)).toEqual(rational(16n, 66n));
    expect(shares.size).toBe(6);
    expect(
      sharesOf([
        ['v1', 100],
        ['v2', 0],
      ])[1],
    ).toEqual([`${host}#v2`, rational(0n, 1n)]);
  });
});

describe('long route shares', () => {
  it('are in written order when no backend repeats', () => {
    const route: [string, number][] = Array.from({ length: 10 }, (_, i) => [`v${9 - i}`, 10]);
    expect(sharesOf(route).map(([id, share]) => [id.slice(host.length), share])).toEqual(
      route.map(([subset]) => [`#${subset}`, rational(1n, 10n)]),
    );
  });

  it('sum a backend repeated as the last of the list', () => {
    const route: [string, number][] = Array.from({ length: 9 }, (_, i) => [`v${i}`, 10]);
    route.push(['v0', 10]);
    const shares = sharesOf(route);
    expect(shares).toHaveLength(9);
    expect(shares[0]).toEqual([`${host}#v0`, rational(1n, 5n)]);
    expect(shares[8]).toEqual([`${host}#v8`, rational(1n, 10n)]);
  });
});

describe('backend display names', () => {
  it('are kept as they are when none repeats (the list itself is returned)', () => {
    const list = [
      { name: 'reviews-v1', id: 'a' },
      { name: 'reviews-v2', id: 'b' },
    ];
    expect(distinctNames(list)).toBe(list);
  });

  it('get their identity appended where two read alike, in short and long lists', () => {
    expect(
      distinctNames([
        { name: 'web', id: 'web.a' },
        { name: 'api', id: 'api.a' },
        { name: 'web', id: 'web.b' },
      ]).map((b) => b.name),
    ).toEqual(['web [web.a]', 'api', 'web [web.b]']);
    const long = Array.from({ length: 10 }, (_, i) => ({ name: `n${i}`, id: `id${i}` }));
    long.push({ name: 'n3', id: 'other' });
    const names = distinctNames(long).map((b) => b.name);
    expect(names[3]).toBe('n3 [id3]');
    expect(names[10]).toBe('n3 [other]');
    expect(names[4]).toBe('n4');
  });
});

/** The backend ids of one route sending to `dests`: [subset, port or none], each at weight 1. */
const idsOf = (dests: readonly [string, number | undefined][]) => [
  ...routeShares(dests.map(([subset, port]) => [subset, 1, port] as const)).keys(),
];

describe('backend ports', () => {
  it('stay out of ids while each host and subset is written with one port', () => {
    expect(
      idsOf([
        ['v1', 9080],
        ['v2', 9090],
        ['v1', undefined],
      ]),
    ).toEqual([`${host}#v1`, `${host}#v2`]);
  });

  it('go into the ids of a host and subset written with two', () => {
    expect(
      idsOf([
        ['v1', 9080],
        ['v2', 9080],
        ['v1', 9090],
      ]),
    ).toEqual([`${host}:9080#v1`, `${host}#v2`, `${host}:9090#v1`]);
  });

  it('are settled the same among many backends with ports', () => {
    const many: [string, number][] = Array.from({ length: 20 }, (_, i) => [`v${i}`, 9080]);
    expect(idsOf(many)).toEqual(many.map(([s]) => `${host}#${s}`));
    expect(idsOf([...many, ['v3', 9090]])).toEqual([
      ...many.map(([s]) => (s === 'v3' ? `${host}:9080#v3` : `${host}#${s}`)),
      `${host}:9090#v3`,
    ]);
  });
});

describe('Istio roots', () => {
  const virtualService = (hosts: unknown[], gateways?: string[]) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: {
      hosts,
      ...(gateways ? { gateways } : {}),
      http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }],
    },
  });
  const rootKeys = (hosts: unknown[], gateways?: string[]) =>
    flowOf(virtualService(hosts, gateways), 'shop')?.roots.map((r) => r.key);

  it('are one per host: a short name and its FQDN are the same host', () => {
    expect(rootKeys(['reviews', host, 'Reviews.shop.svc.cluster.local.'])).toEqual([host]);
  });

  it('keep the hosts in written order, one per gateway', () => {
    expect(rootKeys(['ratings', 'reviews', 7, 'ratings'], ['edge', 'mesh'])).toEqual([
      'ratings.shop.svc.cluster.local@shop/edge',
      'ratings.shop.svc.cluster.local',
      `${host}@shop/edge`,
      host,
    ]);
  });
});
