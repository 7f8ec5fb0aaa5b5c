import { describe, expect, it } from 'vitest';
import { decodeAdmissionReview } from '../../src/admission/decode.js';
import type { AdmissionEngine } from '../../src/admission/engine.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { workloadEngine } from '../helpers/workload-engine.js';

async function outcome(engine: AdmissionEngine, body: ReturnType<typeof makeReview>) {
  const decoded = decodeAdmissionReview(body);
  if (!decoded.ok) throw new Error(decoded.message);
  return engine.review(decoded.review, 'validate');
}

describe('the engine says whether a rule looked at the object, and why not', () => {
  const engine = workloadEngine({ mesh: 'istio' });

  it('handled: a workload in scope', async () => {
    const result = await outcome(engine, makeReview({ object: deployment('api', null) }));
    expect(result.handled).toBe(true);
    expect(result.skipped).toBeUndefined();
  });

  it.each([
    [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } },
      'kind not checked: v1 Service',
    ],
    [
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' } },
      'kind not checked: Job (a sidecar keeps a Job from completing)',
    ],
    [
      { apiVersion: 'extensions/v1beta1', kind: 'Deployment', metadata: { name: 'd' } },
      'kind not checked: extensions/v1beta1 Deployment',
    ],
    [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other' } },
      'not a policy ConfigMap: only ConfigMaps named meshwarden-policy are checked',
    ],
  ])('skipped: %j', async (object, reason) => {
    const result = await outcome(engine, makeReview({ object }));
    expect(result.handled).toBe(false);
    expect(result.skipped).toBe(reason);
  });

  it('skipped: excluded namespaces, by policy and by label', async () => {
    const byPolicy = await outcome(
      engine,
      makeReview({ object: deployment('a', null, { namespace: 'kube-public' }) }),
    );
    expect(byPolicy.skipped).toBe('namespace kube-public is excluded (excludedNamespaces)');
    const labelled = workloadEngine(
      {},
      { allNamespaceLabels: { 'meshwarden.io/enforce': 'disabled' } },
    );
    const byLabel = await outcome(
      labelled,
      makeReview({ object: deployment('a', null, { namespace: 'x' }) }),
    );
    expect(byLabel.skipped).toBe('namespace x is excluded (meshwarden.io/enforce=disabled)');
  });

  it('skipped: subresources and deletes', async () => {
    const body = makeReview({ object: deployment('a', null) });
    const scale = await outcome(engine, {
      ...body,
      request: Object.assign({ subResource: 'scale' }, body.request),
    });
    expect(scale.skipped).toBe('subresource scale not checked');
    const del = await outcome(
      engine,
      makeReview({ object: null, oldObject: deployment('a', null), operation: 'DELETE' }),
    );
    expect(del.skipped).toBe('operation DELETE not checked');
  });
});
