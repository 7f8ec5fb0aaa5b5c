import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifestText, type InputError, type SourcedObject } from '../../src/cli/manifests.js';
import { formatReviewText } from '../../src/cli/output.js';
import { OfflineReviewer, type ReviewResult } from '../../src/cli/review.js';
import { resolveSpec } from '../../src/policy/defaults.js';
import type { PolicySpecInput } from '../../src/policy/types.js';
import { runCli } from '../helpers/cli.js';

const BOOKINFO = 'test/fixtures/workloads/istio/samples/bookinfo/platform/kube/bookinfo.yaml';
const SLEEP = 'test/fixtures/workloads/istio/samples/sleep/sleep.yaml';
const BOOKINFO_DEPLOYMENTS = [
  'details-v1',
  'ratings-v1',
  'reviews-v1',
  'reviews-v2',
  'reviews-v3',
  'productpage-v1',
];

function read(path: string): SourcedObject[] {
  const objects: SourcedObject[] = [];
  const errors: InputError[] = [];
  parseManifestText(readFileSync(path, 'utf8'), path, objects, errors);
  expect(errors).toEqual([]);
  return objects;
}

async function review(
  path: string,
  spec: PolicySpecInput,
  namespaceLabels?: Record<string, string>,
): Promise<ReviewResult[]> {
  const reviewer = new OfflineReviewer({
    policy: resolveSpec(spec),
    ...(namespaceLabels ? { cluster: { allNamespaceLabels: namespaceLabels } } : {}),
  });
  const { results, errors } = await reviewer.reviewAll(read(path));
  expect(errors).toEqual([]);
  return results;
}

const deployments = (results: readonly ReviewResult[]) =>
  results.filter((r) => r.kind === 'Deployment');

describe('meshwarden review over workloads (OfflineReviewer)', () => {
  it('bookinfo --mesh istio: six Deployments allowed, each with the one-label patch', async () => {
    const results = await review(BOOKINFO, { mesh: 'istio' });
    const found = deployments(results);
    expect(found.map((r) => r.name)).toEqual(BOOKINFO_DEPLOYMENTS);
    for (const r of found) {
      expect(r.allowed, r.name).toBe(true);
      expect(r.patch, r.name).toEqual([
        {
          op: 'add',
          path: '/spec/template/metadata/labels/sidecar.istio.io~1inject',
          value: 'true',
        },
      ]);
    }
    // Services and ServiceAccounts pass untouched.
    for (const r of results.filter((x) => x.kind !== 'Deployment')) {
      expect(r.allowed).toBe(true);
      expect(r.patch).toEqual([]);
    }
  });

  it('bookinfo --mesh linkerd: six Deployments allowed, each with the annotation patch', async () => {
    const found = deployments(await review(BOOKINFO, { mesh: 'linkerd' }));
    expect(found.map((r) => r.name)).toEqual(BOOKINFO_DEPLOYMENTS);
    for (const r of found) {
      expect(r.allowed, r.name).toBe(true);
      // productpage-v1 has template annotations (prometheus.io/*): one key is added to them;
      // the others have none: the map is added whole, never added into.
      expect(r.patch, r.name).toEqual([
        r.name === 'productpage-v1'
          ? {
              op: 'add',
              path: '/spec/template/metadata/annotations/linkerd.io~1inject',
              value: 'enabled',
            }
          : {
              op: 'add',
              path: '/spec/template/metadata/annotations',
              value: { 'linkerd.io/inject': 'enabled' },
            },
      ]);
    }
  });

  it('shows the patch in the text report', async () => {
    const text = formatReviewText(await review(BOOKINFO, { mesh: 'istio' }));
    expect(text).toContain('ALLOWED Deployment default/reviews-v2 (CREATE)');
    expect(text).toContain(
      '  patch: add /spec/template/metadata/labels/sidecar.istio.io~1inject "true"',
    );
    expect(text).toMatch(/14 objects reviewed: 14 allowed, 0 denied$/);
  });

  it('sleep.yaml is denied for its missing version label, with the fix', async () => {
    const [sleep] = deployments(await review(SLEEP, { mesh: 'istio' }));
    expect(sleep?.allowed).toBe(false);
    expect(sleep?.message).toContain('Deployment default/sleep has no version label');
    expect(sleep?.message).toContain(
      'Fix: add {version: "8.16.0"} under spec.template.metadata.labels',
    );
  });

  it('--namespace-labels meshwarden.io/enforce=disabled leaves the workload alone', async () => {
    const [sleep] = deployments(
      await review(SLEEP, { mesh: 'istio' }, { 'meshwarden.io/enforce': 'disabled' }),
    );
    expect(sleep?.allowed).toBe(true);
    expect(sleep?.patch).toEqual([]);
  });

  it('--namespace-labels istio-injection=disabled keeps the marker off but still checks labels', async () => {
    // workloadScope: all: a namespace without sidecars is otherwise outside the default scope.
    const [sleep] = deployments(
      await review(
        SLEEP,
        { mesh: 'istio', workloadScope: 'all' },
        { 'istio-injection': 'disabled' },
      ),
    );
    expect(sleep?.patch).toEqual([]);
    expect(sleep?.allowed).toBe(false);
  });

  it('warn and audit policies allow sleep.yaml', async () => {
    const [warned] = deployments(await review(SLEEP, { versionLabels: { enforcement: 'warn' } }));
    expect(warned?.allowed).toBe(true);
    expect(warned?.warnings).toEqual([
      'Deployment default/sleep: pod template needs a version label (spec.template.metadata.labels)',
    ]);
    const [audited] = deployments(await review(SLEEP, { versionLabels: { enforcement: 'audit' } }));
    expect(audited?.allowed).toBe(true);
    expect(audited?.warnings).toEqual([]);
  });
});

describe('meshwarden review over workloads (built command line)', () => {
  it('bookinfo: --mesh istio gives the label patch, --mesh linkerd the annotation patch, exit 0', () => {
    for (const [mesh, path] of [
      ['istio', '/spec/template/metadata/labels/sidecar.istio.io~1inject'],
      ['linkerd', '/spec/template/metadata/annotations'],
    ] as const) {
      const result = runCli(['review', '-f', BOOKINFO, '--mesh', mesh, '-o', 'json']);
      expect(result.status, result.stderr).toBe(0);
      const parsed = JSON.parse(result.stdout) as ReviewResult[];
      const found = deployments(parsed);
      expect(found.map((r) => r.name)).toEqual(BOOKINFO_DEPLOYMENTS);
      for (const r of found) {
        expect(r.allowed).toBe(true);
        expect(r.patch).toHaveLength(1);
        expect(r.patch[0]?.path.startsWith(path)).toBe(true);
      }
    }
  });

  it('sleep.yaml: exit 1 with the denial and its fix in the text report', () => {
    const result = runCli(['review', '-f', SLEEP, '--mesh', 'istio']);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('DENIED  Deployment default/sleep (CREATE)');
    expect(result.stdout).toContain(
      '  Fix: add {version: "8.16.0"} under spec.template.metadata.labels',
    );
  });
});
