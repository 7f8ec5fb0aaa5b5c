import { describe, expect, it } from 'vitest';
import { deployment, makeReview } from '../helpers/reviews.js';
import { admit, templateMeta, workloadEngine } from '../helpers/workload-engine.js';

const SHOP = { shop: { 'kubernetes.io/metadata.name': 'shop', 'istio-injection': 'enabled' } };
const labelled = { app: 'api', version: '1.4.2' };

function rollout(name: string, templateLabels?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: 'shop' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: templateLabels ? { labels: templateLabels } : {},
        spec: { containers: [{ name: 'app', image: `example.com/${name}:2.3.0` }] },
      },
      strategy: { canary: { steps: [{ setWeight: 20 }] } },
    },
  };
}

function refRollout(name: string, target: string): Record<string, unknown> {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: 'shop' },
    spec: {
      workloadRef: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: target,
        scaleDown: 'onsuccess',
      },
      strategy: { canary: { steps: [{ setWeight: 20 }] } },
    },
  };
}

const argo = { username: 'system:serviceaccount:argo-rollouts:argo-rollouts', groups: [] };

describe('an application namespace labelled istio-injection=enabled', () => {
  const engine = () => workloadEngine({ mesh: 'istio' }, { namespaceLabels: SHOP });

  it('denies an unlabelled Deployment, with the fix', async () => {
    const result = await admit(
      engine(),
      makeReview({ object: deployment('api', null, { namespace: 'shop' }) }),
    );
    expect(result.allowed).toBe(false);
    expect(result.message).toContain('Deployment shop/api has no app and version labels');
    expect(result.message).toContain('Fix: add {app: "api", version: "1.0.0"}');
  });

  it('denies an unlabelled Rollout, with the fix', async () => {
    const result = await admit(engine(), makeReview({ object: rollout('api') }));
    expect(result.allowed).toBe(false);
    expect(result.message).toContain('Rollout shop/api has no app and version labels');
    expect(result.message).toContain('Fix: add {app: "api", version: "2.3.0"}');
  });

  it('gives labelled ones the marker on their pod template', async () => {
    for (const object of [
      deployment('api', labelled, { namespace: 'shop' }),
      rollout('api', labelled),
    ]) {
      const result = await admit(engine(), makeReview({ object }));
      expect(result.allowed, String(object.kind)).toBe(true);
      expect(result.patch, String(object.kind)).toEqual([
        {
          op: 'add',
          path: '/spec/template/metadata/labels/sidecar.istio.io~1inject',
          value: 'true',
        },
      ]);
      expect(result.secondPatch).toEqual([]);
    }
  });

  it('shows the UPDATE fix for a Rollout with kubectl patch rollout', async () => {
    const result = await admit(
      engine(),
      makeReview({
        object: rollout('api', { app: 'api' }),
        oldObject: rollout('api', { app: 'api' }),
      }),
    );
    expect(result.message).toContain(
      `kubectl -n shop patch rollout api --type merge -p '{"spec":{"template":{"metadata":{"labels":{"version":"2.3.0"}}}}}'`,
    );
  });

  it('checks a workloadRef Rollout through the Deployment it names, when that is known', async () => {
    const target = deployment('api', { app: 'api' }, { namespace: 'shop' });
    const known = workloadEngine({ mesh: 'istio' }, { namespaceLabels: SHOP, objects: [target] });
    const result = await admit(known, makeReview({ object: refRollout('api-rollout', 'api') }));
    expect(result.allowed).toBe(false);
    expect(result.patch).toEqual([]);
    expect(result.message).toContain(
      'Rollout shop/api-rollout takes its pod template from Deployment shop/api (spec.workloadRef).',
    );
    expect(result.message).toContain('Deployment shop/api has no version label');
    const good = workloadEngine(
      { mesh: 'istio' },
      { namespaceLabels: SHOP, objects: [deployment('api', labelled, { namespace: 'shop' })] },
    );
    const ok = await admit(good, makeReview({ object: refRollout('api-rollout', 'api') }));
    expect(ok.allowed).toBe(true);
    // Argo copies the Deployment's template: the marker goes there, never on the Rollout.
    expect(ok.patch).toEqual([]);
  });

  it('records, without blocking, a workloadRef whose Deployment is not known', async () => {
    const result = await admit(engine(), makeReview({ object: refRollout('api-rollout', 'api') }));
    expect(result.allowed).toBe(true);
    expect(result.patch).toEqual([]);
    expect(result.auditAnnotations['version-labels']).toContain(
      'takes its pod template from Deployment shop/api (spec.workloadRef), which is not known here',
    );
  });

  it('never blocks the Argo Rollouts controller, and records its writes', async () => {
    const update = makeReview({ object: rollout('api'), oldObject: rollout('api'), user: argo });
    const result = await admit(engine(), update);
    expect(result.allowed).toBe(true);
    expect(result.auditAnnotations['version-labels']).toContain(
      'written by the Argo Rollouts controller',
    );
    // Scaling the referenced Deployment down to zero.
    const scaled = deployment('api', null, { namespace: 'shop' });
    const scaledDown = await admit(
      engine(),
      makeReview({ object: scaled, oldObject: scaled, user: argo }),
    );
    expect(scaledDown.allowed).toBe(true);
  });

  it('does not take a service account named argo-rollouts in another namespace for the controller', async () => {
    const forged = { username: 'system:serviceaccount:shop:argo-rollouts', groups: [] };
    const result = await admit(engine(), makeReview({ object: rollout('api'), user: forged }));
    expect(result.allowed).toBe(false);
  });

  it('does not let a namespace that says nothing about meshes be enforced, only audited', async () => {
    const other = workloadEngine(
      { mesh: 'istio' },
      { namespaceLabels: { tools: { 'kubernetes.io/metadata.name': 'tools' } } },
    );
    const result = await admit(
      other,
      makeReview({ object: deployment('api', null, { namespace: 'tools' }) }),
    );
    expect(result.allowed).toBe(true);
    expect(result.patch).toEqual([]);
    expect(result.auditAnnotations['version-labels']).toContain(
      'namespace tools takes part in no mesh',
    );
    // versionLabels.default does not fill a label outside the scope either.
    const filling = workloadEngine(
      { mesh: 'istio', versionLabels: { default: 'image-tag' } },
      { namespaceLabels: { tools: {} } },
    );
    expect(
      (
        await admit(
          filling,
          makeReview({ object: deployment('api', null, { namespace: 'tools' }) }),
        )
      ).patch,
    ).toEqual([]);
  });

  it.each([
    [{ 'istio.io/rev': 'stable' }, {}],
    [{ 'kuma.io/sidecar-injection': 'enabled' }, {}],
    [{}, { 'linkerd.io/inject': 'enabled' }],
    [{ 'meshwarden.io/enforce': 'enabled' }, {}],
  ])('enforces in a namespace with %j / annotations %j', async (labels, annotations) => {
    const view = workloadEngine(
      { mesh: 'istio' },
      { namespaceLabels: { web: labels }, namespaceAnnotations: { web: annotations } },
    );
    const result = await admit(
      view,
      makeReview({ object: deployment('api', null, { namespace: 'web' }) }),
    );
    expect(result.allowed).toBe(false);
  });

  it('never touches a control-plane namespace or meshwarden’s own, even when opted in', async () => {
    for (const ns of ['istio-system', 'linkerd', 'meshwarden-system']) {
      const view = workloadEngine(
        { mesh: 'istio', workloadScope: 'all' },
        { namespaceLabels: { [ns]: { 'istio-injection': 'enabled' } } },
      );
      const result = await admit(
        view,
        makeReview({ object: deployment('x', null, { namespace: ns }) }),
      );
      expect(result.allowed, ns).toBe(true);
      expect(result.patch, ns).toEqual([]);
      expect(result.validate.handled, ns).toBe(false);
      expect(templateMeta(result.patched, 'labels'), ns).toBeUndefined();
    }
  });

  it('a namespace override may widen the scope to all, never narrow it', async () => {
    const { looseningErrors, tightest } = await import('../../src/policy/merge.js');
    const { resolveSpec } = await import('../../src/policy/defaults.js');
    const mesh = resolveSpec({});
    expect(tightest(mesh, { workloadScope: 'all' }).workloadScope).toBe('all');
    expect(looseningErrors(mesh, { workloadScope: 'all' })).toEqual([]);
    const all = resolveSpec({ workloadScope: 'all' });
    expect(tightest(all, { workloadScope: 'mesh' }).workloadScope).toBe('all');
    expect(looseningErrors(all, { workloadScope: 'mesh' }).map((e) => e.key)).toEqual([
      'spec.workloadScope',
    ]);
  });
});
