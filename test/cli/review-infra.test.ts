import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ReviewResult } from '../../src/cli/review.js';
import { find, helmTemplate, render, requireHelm } from '../charts/helm.js';
import { runCli } from '../helpers/cli.js';
import { INFRA_FIXTURES, infraObjects, isJob, isWorkload, namespacesOf } from '../helpers/infra.js';

// `meshwarden review` over what a cluster runs on install day: the rendered infrastructure charts
// and meshwarden's own chart, with the chart's default policy and the Namespaces helm creates.

let dir: string;
const path = (name: string) => join(dir, name);

beforeAll(() => {
  requireHelm();
  dir = mkdtempSync(join(tmpdir(), 'meshwarden-infra-'));
  const chart = helmTemplate();
  expect(chart.code).toBe(0);
  writeFileSync(path('meshwarden.yaml'), chart.stdout);
  writeFileSync(
    path('policy.yaml'),
    stringify(find(render().objects, 'ConfigMap', 'meshwarden-policy')),
  );
  const namespaces = namespacesOf(infraObjects());
  writeFileSync(path('namespaces.yaml'), namespaces.map((n) => stringify(n)).join('---\n'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function review(extra: string[] = []): {
  status: number | null;
  results: ReviewResult[];
  stderr: string;
} {
  const result = runCli([
    'review',
    '-f',
    INFRA_FIXTURES,
    path('meshwarden.yaml'),
    '--policy',
    path('policy.yaml'),
    '--context',
    path('namespaces.yaml'),
    '-o',
    'json',
    ...extra,
  ]);
  return {
    status: result.status,
    stderr: result.stderr,
    results: result.status === 2 ? [] : (JSON.parse(result.stdout) as ReviewResult[]),
  };
}

describe('meshwarden review over the infrastructure (built command line)', () => {
  it('exits 0: nothing denied, nothing patched, every object says what happened to it', () => {
    const { status, results, stderr } = review();
    expect(status, stderr).toBe(0);
    expect(results.length).toBe(infraObjects().length);
    for (const r of results) {
      const id = `${r.kind} ${r.namespace}/${r.name} ${r.source}`;
      expect(r.allowed, id).toBe(true);
      expect(r.patch, id).toEqual([]);
      expect(['allowed', 'audit', 'skipped'], id).toContain(r.result);
      if (r.result === 'skipped' || r.result === 'audit') expect(r.reason, id).not.toBeNull();
    }
    const by = (kind: string, name: string) =>
      results.find((r) => r.kind === kind && r.name === name)!;
    expect(by('Deployment', 'istiod')).toMatchObject({
      result: 'skipped',
      reason: 'namespace istio-system holds the Istio control plane',
    });
    expect(by('Deployment', 'meshwarden')).toMatchObject({
      result: 'skipped',
      reason: "namespace meshwarden-system is meshwarden's own",
    });
    expect(by('Deployment', 'argo-rollouts').result).toBe('audit');
    expect(by('Deployment', 'argo-rollouts').reason).toContain(
      'namespace argo-rollouts takes part in no mesh',
    );
    expect(by('Job', 'cert-manager-startupapicheck')).toMatchObject({
      result: 'skipped',
      reason: 'kind not checked: Job (a sidecar keeps a Job from completing)',
    });
    expect(by('CronJob', 'linkerd-heartbeat').result).toBe('skipped');
    expect(by('ClusterRole', 'cert-manager-controller-issuers').reason).toBe(
      'kind not checked: rbac.authorization.k8s.io/v1 ClusterRole',
    );
    // The meshwarden chart's policy ConfigMap is checked (and valid).
    expect(by('ConfigMap', 'meshwarden-policy').result).toBe('allowed');
  });

  it('counts match the objects: workloads audited or skipped, Jobs skipped', () => {
    const { results } = review();
    const objects = infraObjects();
    const jobs = objects.filter((o) => isJob(o.object)).length;
    const workloads = objects.filter((o) => isWorkload(o.object)).length;
    expect(
      results
        .filter((r) => ['Job', 'CronJob'].includes(r.kind))
        .every((r) => r.result === 'skipped'),
    ).toBe(true);
    expect(results.filter((r) => ['Job', 'CronJob'].includes(r.kind))).toHaveLength(jobs);
    const workloadResults = results.filter((r) =>
      ['Deployment', 'StatefulSet', 'DaemonSet'].includes(r.kind),
    );
    expect(workloadResults).toHaveLength(workloads);
  });

  it('text report: SKIPPED and AUDIT lines with their reasons, and the tally', () => {
    const result = runCli([
      'review',
      '-f',
      join(INFRA_FIXTURES, 'argo-rollouts'),
      join(INFRA_FIXTURES, 'linkerd-control-plane'),
      '--context',
      path('namespaces.yaml'),
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('AUDIT   Deployment argo-rollouts/argo-rollouts (CREATE)');
    expect(result.stdout).toContain(
      '  audit: version-labels: namespace argo-rollouts takes part in no mesh',
    );
    expect(result.stdout).toContain('SKIPPED Deployment linkerd/linkerd-destination (CREATE)');
    expect(result.stdout).toContain('  skipped: namespace linkerd holds the Linkerd control plane');
    expect(result.stdout).toMatch(
      /checked \d+, audit only 1, skipped \d+ \(no rule looks at them\)\n\d+ objects reviewed: \d+ allowed, 0 denied\n$/,
    );
  });

  it('without --context or --namespace-labels the files count as in scope: unlabelled infrastructure is denied', () => {
    const result = runCli(['review', '-f', join(INFRA_FIXTURES, 'argo-rollouts'), '-o', 'json']);
    expect(result.status).toBe(1);
    const parsed = JSON.parse(result.stdout) as ReviewResult[];
    expect(parsed.find((r) => r.kind === 'Deployment')).toMatchObject({
      result: 'denied',
      reason: 'denied by version-labels',
    });
  });

  it('an object whose namespace the --context Namespaces leave out counts as in scope', () => {
    const other = path('other-namespaces.yaml');
    writeFileSync(
      other,
      stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }),
    );
    const result = runCli([
      'review',
      '-f',
      join(INFRA_FIXTURES, 'argo-rollouts'),
      '--context',
      other,
      '-o',
      'json',
    ]);
    expect(result.status).toBe(1);
  });

  it('--namespace-labels puts every namespace not in --context in or out of scope', () => {
    const off = runCli([
      'review',
      '-f',
      join(INFRA_FIXTURES, 'argo-rollouts'),
      '--namespace-labels',
      'team=platform',
    ]);
    expect(off.status).toBe(0);
    const on = runCli([
      'review',
      '-f',
      join(INFRA_FIXTURES, 'argo-rollouts'),
      '--namespace-labels',
      'istio-injection=enabled',
    ]);
    expect(on.status).toBe(1);
  });
});
