/**
 * The requests the judge sends through objects (src/traffic/flow/probes.ts): one per path, method
 * and port the routes name, per protocol. Objects that name none share their parts, so what one
 * object adds must never show up in another's probes.
 */
import { describe, expect, it } from 'vitest';
import { flowOf } from '../../../src/rules/traffic-edit.js';
import { FlowMemo } from '../../../src/traffic/flow/memo.js';
import { probesFor, uniformProbes } from '../../../src/traffic/flow/probes.js';
import type { FlowObject } from '../../../src/traffic/flow/model.js';
import { generatedVirtualService } from '../../helpers/virtual-services.js';

function flow(match: readonly object[]): FlowObject {
  const object = generatedVirtualService({
    hosts: ['reviews'],
    http: [
      { name: 'special', match, dests: [['v2', 100]] },
      { name: 'rest', match: [], dests: [['v1', 100]] },
    ],
  });
  const read = flowOf(object, 'shop');
  if (!read) throw new Error('not read');
  return read;
}

const keys = (objects: readonly FlowObject[]) => probesFor(objects).map((p) => p.key);

describe('probes', () => {
  const plain = flow([]);
  const named = flow([{ uri: { prefix: '/api' }, method: { exact: 'POST' }, port: 8080 }]);

  it('are the catch-all path and every other path of any method when no route names one', () => {
    expect(keys([plain])).toEqual(['http|*|GET|/', 'http|*|GET|/.meshwarden-unmatched']);
  });

  it('add each path, method and port a route names', () => {
    const list = keys([named]);
    // Ports (any, 8080) × paths (/, other, /api, /api/x, /apix) × methods (POST, any other).
    expect(list.length).toBe(2 * 5 * 2);
    expect(list.slice(0, 4)).toEqual([
      'http|*|POST|/',
      'http|*|GET|/',
      'http|*|POST|/.meshwarden-unmatched',
      'http|*|GET|/.meshwarden-unmatched',
    ]);
    expect(list).toContain('http|8080|POST|/api');
    expect(list).toContain('http|*|GET|/apix');
  });

  it('of one object never carry what another object named', () => {
    keys([named]);
    expect(keys([plain])).toEqual(['http|*|GET|/', 'http|*|GET|/.meshwarden-unmatched']);
    // Together, the plain object adds nothing the named one lacks, in either order.
    expect(keys([plain, named])).toEqual(keys([named]));
    expect(keys([named, plain])).toEqual(keys([named]));
    expect(keys([plain])).toHaveLength(2);
  });
});

describe('the short probe list of objects that send all untargeted requests to one route', () => {
  const side = (o: FlowObject) => [o, o.roots[0]!] as const;

  it('is one list for objects with the same matches (an edit of weights), its own for others', () => {
    const memo = new FlowMemo();
    const canary = [{ headers: { 'x-canary': { exact: 'always' } } }];
    const old = flow(canary);
    const next = flow(canary);
    const beta = flow([{ headers: { 'x-beta': { exact: '1' } } }]);
    const one = uniformProbes([old], [side(old)], memo);
    expect(one?.map((p) => p.key)).toEqual([
      'http|*|GET|/',
      'http|targeted|"header:x-canary"="always",|"/"|GET|*',
    ]);
    expect(uniformProbes([old, next], [side(old), side(next)], memo)).toBe(one);
    expect(uniformProbes([next], [side(next)], memo)).toBe(one);
    // Another object's targeted match is its own, in either order of asking.
    const other = uniformProbes([beta], [side(beta)], memo);
    expect(other?.map((p) => p.key)).toEqual([
      'http|*|GET|/',
      'http|targeted|"header:x-beta"="1",|"/"|GET|*',
    ]);
    expect(uniformProbes([old, beta], [side(old), side(beta)], memo)?.length).toBe(3);
    expect(uniformProbes([old], [side(old)], memo)).toBe(one);
  });
});
