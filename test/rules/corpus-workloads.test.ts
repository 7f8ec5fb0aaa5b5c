import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifestText, type InputError, type SourcedObject } from '../../src/cli/manifests.js';
import { MESH_IDS, type MeshId } from '../../src/mesh/ids.js';
import { controlPlaneOwner } from '../../src/mesh/namespaces.js';
import { makeReview } from '../helpers/reviews.js';
import {
  admit,
  templateMeta,
  workloadEngine,
  type Admission,
  type ReviewBody,
} from '../helpers/workload-engine.js';

const FIXTURES = 'test/fixtures/workloads';

/**
 * What each workload in the bundled corpus files calls for under the default policy, by
 * `<kind>/<name>` in document order:
 * - `allowed`: app and version labels on the template;
 * - `no-version`: an app label only, denied for the missing version label;
 * - `no-labels`: neither (kustomize patch shapes, gateways), denied for both;
 * - `excluded`: in an excluded namespace (kube-public), allowed untouched.
 * Files absent here, or listed with no workloads, hold no apps/v1 workload and must pass untouched.
 */
const EXPECTED: Record<string, [string, 'allowed' | 'no-version' | 'no-labels' | 'excluded'][]> = {
  'istio/samples/bookinfo/platform/kube/bookinfo.yaml': [
    ['Deployment/details-v1', 'allowed'],
    ['Deployment/ratings-v1', 'allowed'],
    ['Deployment/reviews-v1', 'allowed'],
    ['Deployment/reviews-v2', 'allowed'],
    ['Deployment/reviews-v3', 'allowed'],
    ['Deployment/productpage-v1', 'allowed'],
  ],
  'istio/samples/bookinfo/platform/kube/bookinfo-versions.yaml': [],
  'istio/samples/helloworld/helloworld.yaml': [
    ['Deployment/helloworld-v1', 'allowed'],
    ['Deployment/helloworld-v2', 'allowed'],
  ],
  'istio/samples/httpbin/httpbin.yaml': [['Deployment/httpbin', 'allowed']],
  'istio/samples/sleep/sleep.yaml': [['Deployment/sleep', 'no-version']],
  'istio/samples/httpbin/sample-client/fortio-deploy.yaml': [
    ['Deployment/fortio-deploy', 'no-version'],
  ],
  // extensions/v1beta1 is not served any more and not a kind of CONTRACT §3.
  'istio-old/extensions-v1beta1/samples/bookinfo/platform/kube/bookinfo.yaml': [],
  'linkerd2/controller/proxy-injector/fake/data/deployment-with-injected-proxy.yaml': [
    ['Deployment/nginx', 'excluded'],
  ],
  'linkerd2/controller/proxy-injector/fake/data/deployment-inject-disabled.yaml': [
    ['Deployment/nginx', 'excluded'],
  ],
  'linkerd2/cli/cmd/testdata/inject_emojivoto_istio.input.yml': [['Deployment/web', 'no-version']],
  'linkerd2/cli/cmd/testdata/inject_emojivoto_already_injected.input.yml': [
    ['Deployment/web1', 'no-version'],
    ['Deployment/web2', 'no-version'],
    ['Deployment/web3', 'no-version'],
    ['Deployment/web4', 'no-version'],
  ],
  // The second document does not parse (on purpose upstream); the first is still reviewed.
  'linkerd2/cli/cmd/testdata/inject_gettest_deployment.bad.input.yml': [
    ['Deployment/', 'no-version'],
  ],
  'linkerd2/cli/cmd/testdata/inject_emojivoto_list.input.yml': [
    ['Deployment/web', 'no-version'],
    ['Deployment/emoji', 'no-version'],
  ],
  'linkerd2/cli/cmd/testdata/inject_emojivoto_cronjob_nometa.input.yml': [],
  'linkerd2/cli/cmd/testdata/inject_emojivoto_pod.input.yml': [],
  'linkerd2-2023/test/integration/viz/trafficsplit/testdata/application.yaml': [
    ['Deployment/backend', 'no-version'],
    ['Deployment/failing', 'no-version'],
    ['Deployment/slow-cooker', 'no-version'],
  ],
  'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo/1-setup/echo.yaml': [
    ['Deployment/echo-v1', 'allowed'],
  ],
  'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo/2-initial-subset-routing-to-v2/echo-v2.yaml':
    [['Deployment/echo-v2', 'allowed']],
  ...Object.fromEntries(
    (['Deployment', 'StatefulSet', 'DaemonSet'] as const).map((kind) => [
      `emojivoto-2019/emojivoto${kind === 'Deployment' ? '' : `-${kind.toLowerCase()}`}.yml`,
      ['emoji', 'voting', 'web', 'vote-bot'].map(
        (name) => [`${kind}/${name}`, 'no-version'] as [string, 'no-version'],
      ),
    ]),
  ),
  'emojivoto/kustomize/deployment/web.yml': [['Deployment/web', 'allowed']],
  'emojivoto/kustomize/deployment/vote-bot.yml': [['Deployment/vote-bot', 'allowed']],
  'emojivoto/training/traffic-split/web-svc-2.yml': [['Deployment/web-svc-2', 'allowed']],
  'emojivoto/training/traffic-split/web-apex.yml': [],
  'flagger/kustomize/tester/deployment.yaml': [['Deployment/flagger-loadtester', 'no-version']],
  'flagger/kustomize/podinfo/deployment.yaml': [['Deployment/podinfo', 'no-version']],
  'flagger/test/workloads/deployment.yaml': [['Deployment/podinfo', 'no-version']],
  // app.kubernetes.io/name is an app label; there is no version label.
  'flagger/test/workloads/daemonset.yaml': [['DaemonSet/podinfo-ds', 'no-version']],
  'podinfo/kustomize/deployment.yaml': [['Deployment/podinfo', 'no-version']],
  'osm/docs/example/manifests/apps/bookstore-v2.yaml': [['Deployment/bookstore-v2', 'no-version']],
  'microservices-demo/release/kubernetes-manifests.yaml': [
    'frontend',
    'adservice',
    'currencyservice',
    'cartservice',
    'redis-cart',
    'loadgenerator',
    'recommendationservice',
    'checkoutservice',
    'emailservice',
    'paymentservice',
    'shippingservice',
    'productcatalogservice',
  ].map((name) => [`Deployment/${name}`, 'no-version']),
  // Kustomize patch shapes: no template labels at all (the flagger one has no template metadata).
  'consul-k8s/acceptance/tests/fixtures/cases/static-client-namespaces/patch.yaml': [
    ['Deployment/static-client', 'no-labels'],
  ],
  'consul-k8s/acceptance/tests/fixtures/cases/static-client-inject/patch.yaml': [
    ['Deployment/static-client', 'no-labels'],
  ],
  'flagger/kustomize/linkerd/patch.yaml': [['Deployment/flagger', 'no-labels']],

  'istio/pkg/kube/inject/testdata/inject/list.yaml': [
    ['Deployment/hello-v1', 'allowed'],
    ['Deployment/hello-v2', 'allowed'],
  ],
  'istio/pkg/kube/inject/testdata/inject/traffic-annotations.yaml': [
    ['Deployment/traffic', 'no-version'],
  ],
  'istio/pkg/kube/inject/testdata/inject/hello.yaml': [['Deployment/hello', 'no-version']],
  'istio/pkg/kube/inject/testdata/inject/hello-ignore.yaml': [['Deployment/hello', 'no-version']],
  'istio/pkg/kube/inject/testdata/inject/list-frontend.yaml': [
    ['Deployment/frontend', 'no-version'],
  ],
  'istio/pkg/kube/inject/testdata/inject/user-volume.yaml': [
    ['Deployment/user-volume', 'no-version'],
  ],
  'istio/pkg/kube/inject/testdata/inject/replicaset.yaml': [],
  'istio/pkg/kube/inject/testdata/inject/hello-multi.yaml': [
    ['Deployment/hello-v1', 'allowed'],
    ['Deployment/hello-v2', 'allowed'],
  ],
  'istio/pkg/kube/inject/testdata/inject/gateway.yaml': [
    ['Deployment/istio-ingressgateway', 'no-labels'],
  ],
  'istio/pkg/kube/inject/testdata/inject/statefulset.yaml': [['StatefulSet/hello', 'no-version']],
  'istio/pkg/kube/inject/testdata/inject/daemonset.yaml': [['DaemonSet/hello', 'no-version']],
  'istio/pkg/kube/inject/testdata/inject/multi-container.yaml': [['Deployment/app', 'no-version']],
  'istio/pkg/kube/inject/testdata/inject/deploymentconfig-with-canonical-service-label.yaml': [],
  'istio/pkg/kube/inject/testdata/inject/deploymentconfig.yaml': [],
  'istio/pkg/kube/inject/testdata/inject/replicationcontroller.yaml': [],
  'istio/pkg/kube/inject/testdata/inject/job.yaml': [],
  'istio/pkg/kube/inject/testdata/inject/resource_annotations.yaml': [
    ['Deployment/resource', 'no-version'],
  ],
  'istio/pkg/kube/inject/testdata/inject/frontend.yaml': [['Deployment/frontend', 'no-version']],
  'istio/pkg/kube/inject/testdata/inject/multi-init.yaml': [['Deployment/hello', 'no-version']],
  'istio/pkg/kube/inject/testdata/inject/cronjob.yaml': [],
  'istio/pkg/kube/inject/testdata/inject/truncate-canonical-name-custom-controller-pod.yaml': [],
  'istio/pkg/kube/inject/testdata/inject/status_annotations.yaml': [
    ['Deployment/statusPort', 'no-version'],
  ],
  'istio/pkg/kube/inject/testdata/inject/two_container.yaml': [['Deployment/hello', 'no-version']],
  'istio/pkg/kube/inject/testdata/inject/hello-namespace.yaml': [
    ['Deployment/hello', 'no-version'],
  ],
  'istio/pkg/kube/inject/testdata/inject/pod.yaml': [],

  // AdmissionReview bodies as API servers sent them (pepr keeps only the request member).
  'linkerd2-2019/controller/proxy-injector/fake/data/inject-enabled-request.json': [
    ['Deployment/nginx', 'excluded'],
  ],
  'linkerd2-2019/controller/proxy-injector/fake/data/inject-disabled-request.json': [
    ['Deployment/nginx', 'excluded'],
  ],
  'linkerd2-2019/controller/proxy-injector/fake/data/inject-empty-request.json': [
    ['Deployment/nginx', 'excluded'],
  ],
  'linkerd2-2018/controller/proxy-injector/fake/data/inject-completed-request.json': [
    ['Deployment/nginx', 'excluded'],
  ],
  'pepr/src/fixtures/data/admission-create-deployment.json': [['Deployment/lower', 'no-version']],
  'pepr-2024/src/fixtures/data/admission-update-deployment.json': [
    ['Deployment/lower', 'no-version'],
  ],
  'pepr/src/fixtures/data/admission-create-pod.json': [],
  'magtape/testing/deployments/test-deploy01.json': [['Deployment/test-deploy01', 'no-version']],
  'whorf/tests/request.json': [['Deployment/nginx', 'no-version']],
};

/** Workloads whose template already says no to Istio's sidecar: no marker is added. */
const ISTIO_OPT_OUTS = new Set(['istio/pkg/kube/inject/testdata/inject/hello-ignore.yaml']);

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

interface Reviewed {
  readonly id: string;
  readonly workload: boolean;
  readonly body: ReviewBody;
}

function listFiles(root: string, filter: (path: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const full = join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (filter(full)) out.push(full);
    }
  };
  walk(root);
  return out;
}

/** The reviews one file gives: a review per object, or the request an AdmissionReview file carries. */
function reviewsOf(path: string): { reviews: Reviewed[]; errors: InputError[] } {
  const objects: SourcedObject[] = [];
  const errors: InputError[] = [];
  parseManifestText(readFileSync(path, 'utf8'), path, objects, errors);
  const reviews = objects.map(({ object }): Reviewed => {
    const raw = object as Record<string, unknown>;
    const embedded =
      raw.kind === 'AdmissionReview'
        ? (raw as unknown as ReviewBody)
        : 'operation' in raw && 'uid' in raw
          ? ({
              apiVersion: 'admission.k8s.io/v1',
              kind: 'AdmissionReview',
              request: raw,
            } as ReviewBody)
          : undefined;
    if (embedded) {
      const request = embedded.request as unknown as {
        kind: { group: string; kind: string };
        object: { metadata?: { name?: string } } | null;
        name?: string;
      };
      return {
        id: `${request.kind.kind}/${request.object?.metadata?.name ?? request.name ?? ''}`,
        workload: request.kind.group === 'apps' && WORKLOAD_KINDS.has(request.kind.kind),
        body: embedded,
      };
    }
    const kind = String(object.kind);
    return {
      id: `${kind}/${object.metadata?.name ?? ''}`,
      workload: object.apiVersion === 'apps/v1' && WORKLOAD_KINDS.has(kind),
      body: makeReview({ object: raw }),
    };
  });
  return { reviews, errors };
}

function decisionOf(result: Admission): 'allowed' | 'no-version' | 'no-labels' | 'no-app' {
  if (result.allowed) return 'allowed';
  const message = result.message ?? '';
  if (message.includes('has no app and version labels')) return 'no-labels';
  if (message.includes('has no version label')) return 'no-version';
  if (message.includes('has no app label')) return 'no-app';
  throw new Error(`unexpected denial: ${message}`);
}

const fixtureFiles = listFiles(FIXTURES, (p) => /\.(ya?ml|json)$/.test(p)).map((p) =>
  relative(FIXTURES, p),
);

describe('every workload of the bundled corpus through the engine', () => {
  it('has an expectation for every fixture file, and a fixture for every expectation', () => {
    expect(fixtureFiles.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(fixtureFiles)('%s', async (file) => {
    const { reviews, errors } = reviewsOf(join(FIXTURES, file));
    if (file.endsWith('.bad.input.yml')) expect(errors.length).toBeGreaterThan(0);
    else expect(errors).toEqual([]);
    const engine = workloadEngine({ mesh: 'istio' });
    const seen: [string, string][] = [];
    for (const { id, workload, body } of reviews) {
      // admit() checks every response with the contract checker and applies the patch strictly.
      const result = await admit(engine, body);
      expect(result.secondPatch, `${id}: second pass`).toEqual([]);
      if (!workload) {
        expect(result.patch, id).toEqual([]);
        expect(result.allowed, id).toBe(true);
        continue;
      }
      const excluded = body.request.namespace === 'kube-public';
      seen.push([id, excluded ? 'excluded' : decisionOf(result)]);
      const marker = templateMeta(result.patched, 'labels')?.['sidecar.istio.io/inject'];
      if (excluded) {
        expect(result.patch, id).toEqual([]);
        expect(result.allowed, id).toBe(true);
      } else if (ISTIO_OPT_OUTS.has(file)) {
        expect(result.patch, id).toEqual([]);
        expect(marker, id).toBeUndefined();
      } else {
        // The marker is the whole patch: one op, adding the label or the map that holds it.
        expect(result.patch, id).toHaveLength(1);
        expect(result.patch[0]?.op, id).toBe('add');
        expect(marker, id).toBe('true');
      }
      if (!result.allowed) {
        expect(result.message, id).toContain(
          id.replace('/', ' ').replace(/^(\w+) /, `$1 ${body.request.namespace as string}/`),
        );
        expect(result.message, id).toContain('Fix: add {');
      }
    }
    expect(seen).toEqual(EXPECTED[file]);
  });

  it.each(MESH_IDS)(
    'gives the same decisions under %s, each patch applying and settling',
    async (mesh: MeshId) => {
      const engine = workloadEngine({ mesh });
      const istio = workloadEngine({ mesh: 'istio' });
      for (const file of fixtureFiles) {
        for (const { id, body } of reviewsOf(join(FIXTURES, file)).reviews) {
          const result = await admit(engine, body);
          expect(result.secondPatch, `${file} ${id}`).toEqual([]);
          expect(result.allowed, `${file} ${id}`).toBe((await admit(istio, body)).allowed);
        }
      }
    },
  );
});

describe('corpus opt-outs and already-injected workloads, moved into a workload namespace', () => {
  function moved(file: string): ReviewBody {
    const body = structuredClone(reviewsOf(join(FIXTURES, file)).reviews[0]!.body);
    body.request.namespace = 'shop';
    const object = body.request.object as { metadata: { namespace?: string } };
    object.metadata.namespace = 'shop';
    return body;
  }
  const data = 'linkerd2-2019/controller/proxy-injector/fake/data';

  it('keeps linkerd.io/inject: disabled under linkerd', async () => {
    for (const file of [
      `${data}/inject-disabled-request.json`,
      'linkerd2/controller/proxy-injector/fake/data/deployment-inject-disabled.yaml',
    ]) {
      const result = await admit(workloadEngine({ mesh: 'linkerd' }), moved(file));
      expect(result.patch, file).toEqual([]);
      expect(result.allowed, file).toBe(false);
      expect(result.message, file).toContain('has no version label');
    }
  });

  it('keeps sidecar.istio.io/inject: "false" (the annotation form) under istio', async () => {
    const body = reviewsOf(
      join(FIXTURES, 'istio/pkg/kube/inject/testdata/inject/hello-ignore.yaml'),
    ).reviews[0]!.body;
    const result = await admit(workloadEngine({ mesh: 'istio' }), body);
    expect(result.patch).toEqual([]);
  });

  it('adds nothing when linkerd.io/inject is already enabled, and the annotation when absent', async () => {
    const enabled = await admit(
      workloadEngine({ mesh: 'linkerd' }),
      moved(`${data}/inject-enabled-request.json`),
    );
    expect(enabled.patch).toEqual([]);
    const empty = await admit(
      workloadEngine({ mesh: 'linkerd' }),
      moved(`${data}/inject-empty-request.json`),
    );
    expect(empty.patch).toEqual([
      {
        op: 'add',
        path: '/spec/template/metadata/annotations/linkerd.io~1inject',
        value: 'enabled',
      },
    ]);
  });

  it('marks already-injected templates like any other (injectors skip pods that carry a proxy)', async () => {
    for (const file of [
      'linkerd2/controller/proxy-injector/fake/data/deployment-with-injected-proxy.yaml',
      'linkerd2-2018/controller/proxy-injector/fake/data/inject-completed-request.json',
    ]) {
      const result = await admit(workloadEngine({ mesh: 'linkerd' }), moved(file));
      expect(result.patch, file).toHaveLength(1);
      expect(result.secondPatch, file).toEqual([]);
      expect(result.allowed, file).toBe(false);
    }
  });

  it("keeps the consul patch files' own connect-inject annotation under consul", async () => {
    for (const file of [
      'consul-k8s/acceptance/tests/fixtures/cases/static-client-inject/patch.yaml',
      'consul-k8s/acceptance/tests/fixtures/cases/static-client-namespaces/patch.yaml',
    ]) {
      const result = await admit(
        workloadEngine({ mesh: 'consul' }),
        reviewsOf(join(FIXTURES, file)).reviews[0]!.body,
      );
      expect(result.patch, file).toEqual([]);
      expect(result.message, file).toContain('has no app and version labels');
    }
  });

  it('adds the whole template metadata to the flagger patch file, never into a missing map', async () => {
    const body = reviewsOf(join(FIXTURES, 'flagger/kustomize/linkerd/patch.yaml')).reviews[0]!.body;
    const istio = await admit(workloadEngine({ mesh: 'istio' }), body);
    expect(istio.patch).toEqual([
      {
        op: 'add',
        path: '/spec/template/metadata',
        value: { labels: { 'sidecar.istio.io/inject': 'true' } },
      },
    ]);
    const linkerd = await admit(workloadEngine({ mesh: 'linkerd' }), body);
    expect(linkerd.patch).toEqual([
      {
        op: 'add',
        path: '/spec/template/metadata',
        value: { annotations: { 'linkerd.io/inject': 'enabled' } },
      },
    ]);
  });
});

/** The shared reference corpus, next to the repository (or next to its worktree folder). */
const CORPUS = ['../shared/reference/corpus', '../../shared/reference/corpus'].find((p) =>
  existsSync(join(p, 'README.md')),
);

describe('wider sweep over every file of the shared reference corpus', () => {
  it('reviews every object: patches apply and settle, decisions follow the labels', async () => {
    if (CORPUS === undefined)
      console.info(
        `../shared/reference/corpus is absent: sweeping the bundled fixtures in ${FIXTURES} only`,
      );
    const root = CORPUS ?? FIXTURES;
    // Manifests, plus App Mesh's envsubst templates (they parse, placeholders are plain strings).
    const files = listFiles(root, (p) => /\.(ya?ml|json|yaml\.template)$/.test(p));
    // workloadScope: all, today's behaviour: every namespace is in scope. The infrastructure
    // charts under infra/ are reviewed with the default scope in test/rules/infra-workloads.test.ts.
    const engine = workloadEngine({ mesh: 'istio', workloadScope: 'all' });
    let workloads = 0;
    for (const file of files) {
      for (const { id, workload, body } of reviewsOf(file).reviews) {
        const result = await admit(engine, body);
        expect(result.secondPatch, `${file} ${id}`).toEqual([]);
        if (!workload) {
          // Only route objects are changed, and only by the weight-change stamp (CONTRACT §5).
          for (const op of result.patch as { path: string; value?: unknown }[]) {
            const stamp =
              op.path === '/metadata/annotations/meshwarden.io~1last-weight-change' ||
              (op.path === '/metadata/annotations' &&
                Object.keys(op.value as object).join() === 'meshwarden.io/last-weight-change');
            expect(stamp, `${file} ${id}: ${JSON.stringify(op)}`).toBe(true);
          }
          continue;
        }
        workloads++;
        if (body.request.namespace === 'kube-public') continue;
        // Mesh control planes are never touched, whatever the scope.
        if (controlPlaneOwner(String(body.request.namespace)) !== undefined) {
          expect(result.patch, `${file} ${id}`).toEqual([]);
          expect(result.allowed, `${file} ${id}`).toBe(true);
          continue;
        }
        const labels = templateMeta(result.patched, 'labels') ?? {};
        const has = (keys: string[]) =>
          keys.some((k) => typeof labels[k] === 'string' && labels[k] !== '');
        const complete =
          has(['app', 'app.kubernetes.io/name', 'service.istio.io/canonical-name']) &&
          has(['version', 'app.kubernetes.io/version', 'service.istio.io/canonical-revision']);
        expect(result.allowed, `${file} ${id}`).toBe(complete);
      }
    }
    // The whole corpus holds the bundled workloads and more (App Mesh's, among others).
    const bundled = Object.values(EXPECTED).flat().length;
    if (CORPUS === undefined) expect(workloads).toBe(bundled);
    else expect(workloads).toBeGreaterThan(bundled);
  });
});
