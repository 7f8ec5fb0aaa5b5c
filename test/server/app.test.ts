import { pino } from 'pino';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { staticClusterView } from '../../src/admission/cluster-view.js';
import { AdmissionEngine } from '../../src/admission/engine.js';
import type { Mutator, Validator } from '../../src/admission/rule.js';
import type { KubeObject } from '../../src/k8s/objects.js';
import { PolicyStore } from '../../src/policy/store.js';
import { defaultRules } from '../../src/rules/index.js';
import { createApp, MAX_BODY_BYTES } from '../../src/server/app.js';
import { Lifecycle } from '../../src/server/lifecycle.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { contractProblems, decodePatch } from '../helpers/contract.js';
import { deployment, makeReview } from '../helpers/reviews.js';

const DEPLOYMENTS = [{ group: 'apps', kind: 'Deployment' }];
const marker: Mutator = {
  name: 'test-marker',
  kinds: DEPLOYMENTS,
  operations: ['CREATE', 'UPDATE'],
  mutate(draft: KubeObject) {
    const meta = (draft.spec as { template: { metadata: Record<string, unknown> } }).template
      .metadata;
    meta.labels = { ...(meta.labels as object), 'sidecar.istio.io/inject': 'true' };
  },
};
const longWarning: Validator = {
  name: 'long-warning',
  kinds: DEPLOYMENTS,
  operations: ['CREATE'],
  validate: () => ({
    violations: [
      {
        rule: 'long-warning',
        field: 'spec',
        enforcement: 'warn',
        message: `x ${'very long text '.repeat(20)}`,
      },
    ],
  }),
};
const slow: Validator = {
  name: 'slow',
  kinds: [{ group: 'apps', kind: 'StatefulSet' }],
  operations: ['CREATE'],
  validate: () => new Promise(() => {}),
};

function setup() {
  const rules = defaultRules();
  const lifecycle = new Lifecycle();
  lifecycle.tlsLoaded = true;
  const metrics = createMetrics({ defaultMetrics: false });
  const engine = new AdmissionEngine({
    rules: {
      mutators: [...rules.mutators, marker],
      validators: [...rules.validators, longWarning, slow],
    },
    policy: new PolicyStore(),
    cluster: staticClusterView(),
  });
  const app = createApp({ engine, metrics, logger: pino({ level: 'silent' }), lifecycle });
  return { app, lifecycle, metrics };
}

const post = (app: ReturnType<typeof setup>['app'], path: string, body: unknown) =>
  request(app).post(path).set('Content-Type', 'application/json').send(JSON.stringify(body));

const policyConfigMap = (policyYaml: string, namespace = 'meshwarden-system') => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'meshwarden-policy', namespace },
  data: { 'policy.yaml': policyYaml },
});

describe('POST /mutate and /validate', () => {
  it.each(['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const)(
    'answers %s in the same version with the request uid',
    async (apiVersion) => {
      const { app } = setup();
      for (const endpoint of ['mutate', 'validate'] as const) {
        const review = makeReview({ object: deployment('web', { app: 'web' }), apiVersion });
        const res = await post(app, `/${endpoint}`, review);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.body.apiVersion).toBe(apiVersion);
        expect(res.body.response.uid).toBe(review.request.uid);
        expect(contractProblems(review, res.body, endpoint)).toEqual([]);
      }
    },
  );

  it('mutate sends a JSONPatch only when there is something to change, and it applies', async () => {
    const { app } = setup();
    const review = makeReview({ object: deployment('web', null) });
    const res = await post(app, '/mutate', review);
    expect(res.body.response.patchType).toBe('JSONPatch');
    expect(decodePatch(res.body)).toEqual([
      {
        op: 'add',
        path: '/spec/template/metadata/labels',
        value: { 'sidecar.istio.io/inject': 'true' },
      },
    ]);
    expect(contractProblems(review, res.body, 'mutate')).toEqual([]);
    const again = await post(
      app,
      '/mutate',
      makeReview({ object: deployment('web', { 'sidecar.istio.io/inject': 'true' }) }),
    );
    expect(again.body.response.patch).toBeUndefined();
    expect(again.body.response.patchType).toBeUndefined();
  });

  it('validate never returns a patch', async () => {
    const { app } = setup();
    const res = await post(app, '/validate', makeReview({ object: deployment('web', null) }));
    expect(res.body.response.patch).toBeUndefined();
    expect(res.body.response.patchType).toBeUndefined();
  });

  it.each(['DELETE', 'CONNECT'] as const)('no patch on %s', async (operation) => {
    const { app } = setup();
    const review = makeReview({ object: null, oldObject: deployment('web'), operation });
    const res = await post(app, '/mutate', review);
    expect(res.body.response).toEqual({ uid: review.request.uid, allowed: true });
  });

  it('denies with HTTP 200, allowed false, 403 Forbidden and a message naming the bad key (policy ConfigMap rule)', async () => {
    const { app } = setup();
    const review = makeReview({
      object: policyConfigMap(
        'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  weightShift:\n    maxStepWeight: 500\n',
      ),
      namespace: 'meshwarden-system',
    });
    const res = await post(app, '/validate', review);
    expect(res.status).toBe(200);
    expect(res.body.response.allowed).toBe(false);
    expect(res.body.response.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(res.body.response.status.message).toContain(
      'spec.weightShift.maxStepWeight: must be at most 100; got 500',
    );
    expect(res.body.response.status.message).toContain('the last valid policy stays in force');
    expect(contractProblems(review, res.body, 'validate')).toEqual([]);
  });

  it('allows a valid policy ConfigMap and refuses a namespace override that loosens', async () => {
    const { app } = setup();
    const valid = await post(
      app,
      '/validate',
      makeReview({
        object: policyConfigMap(
          'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  mesh: linkerd\n',
        ),
      }),
    );
    expect(valid.body.response.allowed).toBe(true);
    const loosen = await post(
      app,
      '/validate',
      makeReview({
        object: policyConfigMap(
          'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  weightShift:\n    maxStepWeight: 50\n',
          'shop',
        ),
      }),
    );
    expect(loosen.body.response.allowed).toBe(false);
    expect(loosen.body.response.status.message).toContain(
      "maxStepWeight: 50 is looser than the cluster's 20",
    );
  });

  it('keeps every warning within 120 characters', async () => {
    const { app } = setup();
    // Labelled, so that only the long warning speaks (the version-labels rule would deny first).
    const object = deployment('web', { app: 'web', version: 'v1' });
    const res = await post(app, '/validate', makeReview({ object }));
    expect(res.body.response.warnings).toHaveLength(1);
    expect(res.body.response.warnings[0].length).toBeLessThanOrEqual(120);
  });

  it('gives dryRun the same decision', async () => {
    const { app } = setup();
    const object = policyConfigMap('apiVersion: nope\n');
    const wet = await post(app, '/validate', makeReview({ object }));
    const dry = await post(app, '/validate', makeReview({ object, dryRun: true }));
    expect(dry.body.response.allowed).toBe(false);
    expect(dry.body.response.status).toEqual(wet.body.response.status);
  });

  it('honours ?timeout= by answering per the failure policy before it runs out', async () => {
    const { app } = setup();
    const review = makeReview({
      object: {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 's' },
        // Labelled, so that the version-labels rule passes and the slow rule is reached.
        spec: { template: { metadata: { labels: { app: 's', version: 'v1' } } } },
      },
    });
    const res = await request(app)
      .post('/validate?timeout=1s')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(review));
    expect(res.status).toBe(200);
    expect(res.body.response.allowed).toBe(false);
    expect(res.body.response.status.message).toContain('could not finish its checks');
    expect(contractProblems(review, res.body, 'validate')).toEqual([]);
  });
});

describe('bodies refused before review', () => {
  it('415 for a Content-Type other than application/json', async () => {
    const { app } = setup();
    const res = await request(app).post('/validate').set('Content-Type', 'text/plain').send('{}');
    expect(res.status).toBe(415);
    expect(res.body.message).toContain('application/json');
  });

  it('accepts application/json with a charset', async () => {
    const { app } = setup();
    const res = await request(app)
      .post('/validate')
      .set('Content-Type', 'application/json; charset=utf-8')
      .send(JSON.stringify(makeReview({ object: deployment('w') })));
    expect(res.status).toBe(200);
  });

  it.each([
    ['not JSON', '{"apiVersion": '],
    ['empty', ''],
    ['JSON but not an AdmissionReview', '{"hello": "world"}'],
    [
      'an AdmissionReview without request.uid',
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          kind: { group: '', version: 'v1', kind: 'Pod' },
          operation: 'CREATE',
          object: {},
        },
      }),
    ],
  ])('400 for a body that is %s, never allowed', async (_name, body) => {
    const { app } = setup();
    for (const path of ['/mutate', '/validate']) {
      const res = await request(app).post(path).set('Content-Type', 'application/json').send(body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).not.toContain('"allowed":true');
    }
  });

  it('413 for a body over 7 MiB; a 6 MiB review is served', async () => {
    const { app } = setup();
    const big = (bytes: number) => {
      const object = deployment('big', { app: 'big', version: 'v1' });
      (object.metadata as Record<string, unknown>).annotations = { blob: 'x'.repeat(bytes) };
      return makeReview({ object });
    };
    const over = await post(app, '/validate', big(MAX_BODY_BYTES + 1024));
    expect(over.status).toBe(413);
    const under = await post(app, '/validate', big(6 * 1024 * 1024));
    expect(under.status).toBe(200);
    expect(under.body.response.allowed).toBe(true);
  });

  it('404 for other paths', async () => {
    const { app } = setup();
    expect((await request(app).get('/')).status).toBe(404);
    expect((await request(app).get('/mutate')).status).toBe(404);
  });
});

describe('probes and metrics', () => {
  it('/healthz is 200 while alive, /readyz follows readiness and draining', async () => {
    const { app, lifecycle } = setup();
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/readyz')).status).toBe(200);
    lifecycle.tlsLoaded = false;
    expect((await request(app).get('/readyz')).status).toBe(503);
    lifecycle.tlsLoaded = true;
    lifecycle.startDrain();
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.text).toBe('draining');
    expect((await request(app).get('/healthz')).status).toBe(200);
  });

  it('answers the probes as express routes them: any case, a trailing slash, HEAD, a query', async () => {
    const { app, lifecycle } = setup();
    for (const path of ['/HealthZ', '/healthz/', '/healthz?verbose=1']) {
      const res = await request(app).get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(res.text).toBe('ok');
    }
    const head = await request(app).head('/readyz');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('5');
    expect(head.text ?? '').toBe('');
    lifecycle.tlsLoaded = false;
    const notReady = await request(app).get('/READYZ/');
    expect([notReady.status, notReady.text]).toEqual([503, 'not ready']);
    // Other methods and paths next to the probes are express's: 404 with a Status body.
    const posted = await request(app).post('/healthz').send('x');
    expect(posted.status).toBe(404);
    expect(posted.body).toMatchObject({ kind: 'Status', code: 404 });
    expect((await request(app).get('/healthzz')).status).toBe(404);
  });

  it('/readyz is 503 until the policy is loaded', async () => {
    const policy = new PolicyStore(undefined, false);
    const lifecycle = new Lifecycle(() => policy.loaded);
    lifecycle.tlsLoaded = true;
    const engine = new AdmissionEngine({ rules: defaultRules(), policy });
    const app = createApp({
      engine,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
      lifecycle,
    });
    expect((await request(app).get('/readyz')).status).toBe(503);
    policy.setCluster(policy.cluster);
    expect((await request(app).get('/readyz')).status).toBe(200);
  });

  it('/metrics counts requests by endpoint, kind, operation and decision, in Prometheus text', async () => {
    const { app } = setup();
    await post(app, '/mutate', makeReview({ object: deployment('web', null) }));
    await request(app).post('/validate').set('Content-Type', 'text/plain').send('x');
    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toContain(
      'meshwarden_admission_requests_total{endpoint="mutate",kind="Deployment",operation="CREATE",decision="patched"} 1',
    );
    expect(res.text).toContain(
      'meshwarden_admission_rejected_bodies_total{endpoint="validate",code="415"} 1',
    );
    // One observation of the mutate latency; which bucket it falls in depends on the machine.
    expect(res.text).toContain(
      'meshwarden_admission_duration_seconds_bucket{le="+Inf",endpoint="mutate"} 1',
    );
    expect(res.text).toContain('meshwarden_admission_duration_seconds_count{endpoint="mutate"} 1');
  });

  it('sends Connection: close on reviews while draining', async () => {
    const { app, lifecycle } = setup();
    lifecycle.startDrain();
    const res = await post(app, '/validate', makeReview({ object: deployment('web') }));
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
  });
});
