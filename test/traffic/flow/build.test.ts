/**
 * Settling a route's shares (`finish` in src/traffic/flow/build.ts): each backend's exact share of
 * the route's weights, summed where the same backend is written more than once, and display names
 * made distinct where two backends would read alike.
 */
import { describe, expect, it } from 'vitest';
import { flowOf } from '../../../src/rules/traffic-edit.js';
import { rational } from '../../../src/traffic/rational.js';
import { distinctNames } from '../../../src/traffic/read-common.js';
import { generatedVirtualService } from '../../helpers/virtual-services.js';

function sharesOf(route: readonly [string, number][]) {
  const object = generatedVirtualService({
    hosts: ['reviews'],
    http: [{ name: undefined, match: [], dests: route }],
  });
  const flow = flowOf(object, 'shop');
  const outcome = flow?.routes[0]?.outcome;
  if (outcome?.kind !== 'shares') throw new Error(`no shares: ${JSON.stringify(outcome)}`);
  return [...outcome.shares];
}

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
