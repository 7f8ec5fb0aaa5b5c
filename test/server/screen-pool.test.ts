import { afterAll, describe, expect, it } from 'vitest';
import { ScreenPool } from '../../src/server/screen-pool.js';

const pool = new ScreenPool(1);
afterAll(() => pool.close());

function review(object: unknown): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'u-1',
        kind: { group: 'split.smi-spec.io', version: 'v1alpha2', kind: 'TrafficSplit' },
        operation: 'CREATE',
        object,
      },
    }),
  );
}

describe('ScreenPool', () => {
  it('counts backends off the event loop and stops counting past the limit', async () => {
    const backends = Array.from({ length: 5000 }, (_, i) => ({ service: `s${i}`, weight: 1 }));
    const result = await pool.screen(review({ spec: { backends } }), 1000);
    expect(result).toMatchObject({ type: 'screened', uid: 'u-1', kind: 'TrafficSplit' });
    expect(result.type === 'screened' && result.backends).toBeGreaterThan(1000);
  });

  it('reports unparsable bodies and non-reviews', async () => {
    expect((await pool.screen(Buffer.from('{"a":'), 10)).type).toBe('unparsable');
    expect(await pool.screen(Buffer.from('{"kind":"Pod"}'), 10)).toMatchObject({
      type: 'invalid',
    });
  });

  it('counts route entries of every list name and nothing outside spec', async () => {
    const result = await pool.screen(
      review({
        metadata: { annotations: { weight: '1' } },
        spec: { http: [{ route: [{ weight: 1 }, { weight: 2 }] }, {}], rules: [{}] },
      }),
      1000,
    );
    expect(result).toMatchObject({ type: 'screened', backends: 2, routes: 3 });
  });

  it('survives deep nesting without a stack overflow', async () => {
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    const body = Buffer.from(
      `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"X"},"object":{"spec":${deep}}}}`,
    );
    const result = await pool.screen(body, 1000);
    expect(['screened', 'unparsable']).toContain(result.type);
  });
});
