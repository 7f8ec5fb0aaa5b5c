import { beforeAll, describe, expect, it } from 'vitest';
import { AdmissionEngine } from '../../src/admission/engine.js';
import { staticClusterView } from '../../src/admission/cluster-view.js';
import { controlPlaneOwner } from '../../src/mesh/namespaces.js';
import { PolicyStore } from '../../src/policy/store.js';
import type { PolicySpec } from '../../src/policy/types.js';
import { defaultRules } from '../../src/rules/index.js';
import { NAMESPACE, requireHelm } from '../charts/helm.js';
import {
  chartDefaultPolicy,
  infraObjects,
  isJob,
  isWorkload,
  labelsByName,
  namespacesOf,
  type InfraObject,
} from '../helpers/infra.js';
import { makeReview } from '../helpers/reviews.js';
import { admit, templateMeta } from '../helpers/workload-engine.js';

// What a cluster already runs when meshwarden is installed with `helm install` defaults: the
// rendered upstream charts, each in its usual namespace (created by helm, so labelled with its name
// only), and meshwarden's own chart. Nothing may be denied, and nothing patched.

let objects: InfraObject[];
let policy: PolicySpec;

function engineFor(spec: PolicySpec): AdmissionEngine {
  return new AdmissionEngine({
    rules: defaultRules(),
    policy: new PolicyStore(spec),
    cluster: staticClusterView({ namespaceLabels: labelsByName(namespacesOf(objects)) }),
    installNamespace: NAMESPACE,
  });
}

beforeAll(() => {
  requireHelm();
  objects = infraObjects();
  policy = chartDefaultPolicy();
});

describe('infrastructure under the chart’s default policy', () => {
  it('the chart installs workloadScope: mesh', () => {
    expect(policy.workloadScope).toBe('mesh');
  });

  it('denies nothing, patches nothing, and leaves control planes and Jobs unchecked', async () => {
    const engine = engineFor(policy);
    const tally = { checked: 0, audited: 0, skipped: 0, workloads: 0 };
    for (const { object, chart } of objects) {
      const id = `${chart} ${object.kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
      const result = await admit(engine, makeReview({ object: object }));
      expect(result.allowed, `${id}: ${result.message}`).toBe(true);
      expect(result.patch, id).toEqual([]);
      expect(result.warnings, id).toEqual([]);
      const handled = result.mutate.handled || result.validate.handled;
      if (!handled) tally.skipped++;
      else if (Object.keys(result.auditAnnotations).length > 0) tally.audited++;
      else tally.checked++;
      const ns = object.metadata?.namespace ?? '';
      if (isJob(object)) {
        expect(handled, id).toBe(false);
        expect(result.validate.skipped, id).toMatch(
          /^kind not checked: (Cron)?Job \(a sidecar keeps/,
        );
      }
      if (!isWorkload(object)) continue;
      tally.workloads++;
      if (ns === NAMESPACE || controlPlaneOwner(ns) !== undefined) {
        // Control planes and meshwarden itself: no rule looks at them at all.
        expect(handled, id).toBe(false);
        expect(result.validate.skipped, id).toMatch(/meshwarden's own|control plane/);
      } else {
        // Elsewhere the rules look, and only record.
        expect(handled, id).toBe(true);
        for (const v of result.validate.violations) expect(v.enforcement, id).toBe('audit');
      }
    }
    // Every chart’s workloads were seen: 25 across the rendered charts, plus meshwarden’s own.
    expect(tally.workloads).toBe(26);
    expect(tally.checked + tally.audited + tally.skipped).toBe(objects.length);
    expect(tally.audited).toBeGreaterThan(0);
  });

  it('records what it would have done outside the mesh: the marker, and a missing version label', async () => {
    const engine = engineFor(policy);
    const rollouts = objects.find(
      (o) => o.chart === 'argo-rollouts' && o.object.kind === 'Deployment',
    )!;
    const result = await admit(engine, makeReview({ object: rollouts.object }));
    expect(result.allowed).toBe(true);
    expect(result.patch).toEqual([]);
    expect(result.auditAnnotations['sidecar-injection']).toContain(
      'namespace argo-rollouts takes part in no mesh',
    );
    expect(result.auditAnnotations['sidecar-injection']).toContain(
      'would add the label sidecar.istio.io/inject=true',
    );
    expect(result.auditAnnotations['version-labels']).toContain('has no version label');
  });

  it('workloadScope: all is today’s behaviour: infrastructure outside control planes is enforced', async () => {
    const engine = engineFor({ ...policy, workloadScope: 'all' });
    const pick = (chart: string, kind = 'Deployment') =>
      objects.find((o) => o.chart === chart && o.object.kind === kind)!.object as Record<
        string,
        unknown
      >;
    const rollouts = await admit(engine, makeReview({ object: pick('argo-rollouts') }));
    expect(rollouts.allowed).toBe(false);
    expect(rollouts.message).toContain(
      'Deployment argo-rollouts/argo-rollouts has no version label',
    );
    const certManager = await admit(engine, makeReview({ object: pick('cert-manager') }));
    expect(certManager.allowed).toBe(true);
    expect(templateMeta(certManager.patched, 'labels')?.['sidecar.istio.io/inject']).toBe('true');
    // Control planes stay untouched in every scope.
    const istiod = await admit(engine, makeReview({ object: pick('istiod') }));
    expect(istiod.patch).toEqual([]);
    expect(istiod.validate.handled).toBe(false);
    const linkerd = await admit(engine, makeReview({ object: pick('linkerd-control-plane') }));
    expect(linkerd.allowed).toBe(true);
    expect(linkerd.patch).toEqual([]);
  });

  it('a namespace opted in with meshwarden.io/enforce=enabled is enforced under mesh scope', async () => {
    const engine = new AdmissionEngine({
      rules: defaultRules(),
      policy: new PolicyStore(policy),
      cluster: staticClusterView({
        namespaceLabels: { 'argo-rollouts': { 'meshwarden.io/enforce': 'enabled' } },
      }),
    });
    const object = objects.find(
      (o) => o.chart === 'argo-rollouts' && o.object.kind === 'Deployment',
    )!.object as Record<string, unknown>;
    const result = await admit(engine, makeReview({ object }));
    expect(result.allowed).toBe(false);
  });
});
