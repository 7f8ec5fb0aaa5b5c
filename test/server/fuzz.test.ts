import { createServer, Agent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { applyPatch, type Operation } from 'rfc6902';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdmissionEngine } from '../../src/admission/engine.js';
import type { Mutator, RuleSet, Validator } from '../../src/admission/rule.js';
import { PolicyStore } from '../../src/policy/store.js';
import { defaultRules } from '../../src/rules/index.js';
import { createApp } from '../../src/server/app.js';
import { Lifecycle } from '../../src/server/lifecycle.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { asRecord, ensureRecord } from '../../src/util/objects.js';
import { contractProblems, decodePatch } from '../helpers/contract.js';

// Hostile and odd AdmissionReviews against the HTTP handler: every answer is one kube-apiserver
// accepts, or a 4xx; never a 5xx, never a crash. `npm run fuzz` runs many more cases.
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);

const KINDS = [
  { group: 'apps', version: 'v1', kind: 'Deployment' },
  { group: 'apps', version: 'v1', kind: 'StatefulSet' },
  { group: '', version: 'v1', kind: 'ConfigMap' },
  { group: 'split.smi-spec.io', version: 'v1alpha4', kind: 'TrafficSplit' },
  { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' },
  { group: 'example.com', version: 'v1', kind: 'Widget' },
];
const standInKinds = KINDS.slice(0, 5).map(({ group, kind }) => ({ group, kind }));

// Stand-ins for the rules landing elsewhere, so hostile objects also reach the patch and
// violation paths: a mutator that creates missing parents and writes keys needing escapes,
// and a validator that denies, warns and audits with text taken from the object.
const marker: Mutator = {
  name: 'fuzz-marker',
  kinds: standInKinds,
  operations: ['CREATE', 'UPDATE'],
  mutate(draft) {
    const metadata = ensureRecord(draft, 'metadata');
    ensureRecord(metadata, 'labels')['sidecar.istio.io/inject'] = 'true';
    ensureRecord(metadata, 'annotations')['meshwarden.io/a~b/c'] = 'x';
    const spec = asRecord(draft.spec);
    if (spec && Array.isArray(spec.backends)) spec.backends.push({ service: 'added', weight: 0 });
  },
};
const judge: Validator = {
  name: 'fuzz-judge',
  kinds: standInKinds,
  operations: ['CREATE', 'UPDATE'],
  validate(object) {
    const name = object.metadata?.name;
    const text = typeof name === 'string' ? name : JSON.stringify(name ?? null).slice(0, 500);
    const enforcement = (['enforce', 'warn', 'audit'] as const)[text.length % 3]!;
    return {
      violations: [
        { rule: 'fuzz-judge', field: 'metadata.name', enforcement, message: `name ${text} is odd` },
      ],
      notes: [{ rule: 'fuzz-judge', warning: `note about ${text}`, audit: text }],
    };
  },
};
const rules: RuleSet = {
  mutators: [...defaultRules().mutators, marker],
  validators: [...defaultRules().validators, judge],
};

let server: Server;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  const policy = new PolicyStore();
  const app = createApp({
    engine: new AdmissionEngine({ rules, policy }),
    metrics: createMetrics({ defaultMetrics: false }),
    logger: pino({ level: 'silent' }),
    lifecycle: new Lifecycle(() => policy.loaded),
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  agent.destroy();
  await new Promise((resolve) => server.close(resolve));
});

function send(path: string, body: Buffer, contentType: string | undefined) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: {
          'Content-Length': body.length,
          ...(contentType === undefined ? {} : { 'Content-Type': contentType }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// Keys a hostile client might use: odd unicode, escapes, prototype names, empty.
const oddKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'toString',
    '',
    '/',
    '~',
    '~1',
    'a/b~c',
    '-',
    '0',
    '\u0000',
    '\uFEFF',
    '💥',
    'e\u0301',
    '\uD800',
  ),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const scalar = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(oddKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A placeholder replaced in the text by nesting too deep to build as an object here. */
const DEEP = '\u0001deep:';
const special = fc.oneof(
  fc.integer({ min: 1, max: 200_000 }).map((n) => 'x'.repeat(n)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2000 }),
  // Up to 1,000 levels (each step below is two): the checker's structuredClone overflows soon
  // after. Deeper bodies are tested below.
  fc.integer({ min: 50, max: 500 }).map((n) => `${DEEP}${n}`),
  fc.integer({ min: 1, max: 2000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
  fc.dictionary(oddKey, scalar, { minKeys: 1, maxKeys: 8 }),
);
const anyValue = fc.oneof({ weight: 3, arbitrary: jsonish }, { weight: 2, arbitrary: special });

const kubeObject = (kind: (typeof KINDS)[number]) =>
  fc.record(
    {
      apiVersion: fc.constant(kind.group === '' ? kind.version : `${kind.group}/${kind.version}`),
      kind: fc.constant(kind.kind),
      metadata: fc.record(
        {
          name: fc.oneof(fc.constantFrom('meshwarden-policy', 'web'), fc.string({ maxLength: 30 })),
          namespace: fc.constantFrom('default', 'meshwarden-system', 'kube-system'),
          labels: fc.dictionary(oddKey, fc.string({ maxLength: 10 }), { maxKeys: 3 }),
          annotations: fc.dictionary(oddKey, fc.string({ maxLength: 10 }), { maxKeys: 3 }),
        },
        { requiredKeys: [] },
      ),
      spec: fc.record(
        {
          backends: fc.array(
            fc.record({ service: fc.string({ maxLength: 8 }), weight: fc.integer() }),
            { maxLength: 4 },
          ),
          template: jsonish,
          other: jsonish,
        },
        { requiredKeys: [] },
      ),
      data: fc.record(
        {
          'policy.yaml': fc.oneof(
            fc.string({ maxLength: 200 }),
            fc.constant(
              'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  mesh: istio\n',
            ),
          ),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['apiVersion', 'kind'] },
  );

const review = fc.constantFrom(...KINDS).chain((kind) =>
  fc.record({
    apiVersion: fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
    kind: fc.constant('AdmissionReview'),
    request: fc.record({
      uid: fc.uuid(),
      kind: fc.constant(kind),
      resource: fc.constant({
        group: kind.group,
        version: kind.version,
        resource: `${kind.kind.toLowerCase()}s`,
      }),
      name: fc.string({ maxLength: 10 }),
      namespace: fc.constantFrom('default', 'meshwarden-system', 'kube-system'),
      operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'),
      userInfo: fc.record({
        username: fc.string({ maxLength: 10 }),
        groups: fc.array(fc.string({ maxLength: 10 }), { maxLength: 2 }),
      }),
      object: fc.option(kubeObject(kind), { nil: null }),
      oldObject: fc.option(kubeObject(kind), { nil: null }),
      dryRun: fc.boolean(),
    }),
  }),
);

type Json = Record<string, unknown>;

/** Every path to a value inside `root`, as lists of keys. */
function paths(root: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (typeof root !== 'object' || root === null || out.length > 400) return out;
  for (const key of Object.keys(root)) {
    const path = [...prefix, key];
    out.push(path);
    paths((root as Json)[key], path, out);
  }
  return out;
}

type Edit = { pick: number; action: 'set' | 'delete' | 'addKey'; key: string; value: unknown };
const edit = fc.record({
  pick: fc.nat(),
  action: fc.constantFrom('set', 'set', 'delete', 'addKey'),
  key: oddKey,
  value: anyValue,
});

function applyEdits(value: Json, edits: readonly Edit[]): Json {
  for (const e of edits) {
    const all = paths(value);
    if (all.length === 0) break;
    const path = all[e.pick % all.length]!;
    const parent = path.slice(0, -1).reduce<unknown>((node, k) => (node as Json)[k], value) as Json;
    const last = path.at(-1)!;
    if (e.action === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (e.action === 'addKey') {
      const target = parent[last];
      if (typeof target === 'object' && target !== null && !Array.isArray(target))
        Object.defineProperty(target, e.key, {
          value: e.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else parent[last] = e.value;
    } else parent[last] = e.value;
  }
  return value;
}

function toText(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001deep:(\d+)"/g, (_, n: string) => {
    const depth = Number(n);
    return `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;
  });
}

const body = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(review, fc.array(edit, { maxLength: 4 }))
      .map(([r, e]) => toText(applyEdits(structuredClone(r) as Json, e))),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(review, fc.nat()).map(([r, n]) => {
      const t = JSON.stringify(r);
      return t.slice(0, n % t.length);
    }),
  },
  { weight: 1, arbitrary: jsonish.map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: review.map((r) => `\uFEFF${JSON.stringify(r)}`) },
);
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'Application/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      undefined,
    ),
  },
);
const path = fc
  .tuple(
    fc.constantFrom('/mutate', '/validate'),
    fc.option(
      fc.oneof(
        fc.constantFrom('10s', '1s', '500ms', '0s', '-1s', '1h', 'abc', '9999999s'),
        fc.string({ maxLength: 6 }),
      ),
      { nil: undefined },
    ),
  )
  .map(([p, t]) => (t === undefined ? p : `${p}?timeout=${encodeURIComponent(t)}`));

describe('fuzzing the HTTP handler', () => {
  it(
    `answers ${RUNS} random and mutated AdmissionReviews within the contract or with a 4xx`,
    async () => {
      const seen = { ok: 0, rejected: 0 };
      await fc.assert(
        fc.asyncProperty(path, body, contentType, async (url, text, type) => {
          const res = await send(url, Buffer.from(text), type);
          expect(res.status, res.body.slice(0, 300)).toBeLessThan(500);
          if (res.status === 200) {
            seen.ok++;
            const sent = JSON.parse(text.replace(/^\uFEFF/, '')) as Parameters<
              typeof contractProblems
            >[0];
            const endpoint = url.startsWith('/mutate') ? 'mutate' : 'validate';
            expect(contractProblems(sent, JSON.parse(res.body), endpoint)).toEqual([]);
          } else {
            seen.rejected++;
            expect([400, 413, 415]).toContain(res.status);
            expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', code: res.status });
          }
        }),
        { numRuns: RUNS },
      );
      // Both sides of the contract were exercised, not only refusals.
      expect(seen.ok).toBeGreaterThan(RUNS / 4);
      expect(seen.rejected).toBeGreaterThan(RUNS / 20);
    },
    Math.max(120_000, RUNS * 100),
  );

  it('answers a body that is not JSON with 400, never an allow', async () => {
    for (const text of ['', '{', 'null', '[]', '"x"', '{"apiVersion":"admission.k8s.io/v1"}']) {
      const res = await send('/validate', Buffer.from(text), 'application/json');
      expect(res.status, text).toBe(400);
      expect(res.body).not.toContain('"allowed":true');
    }
  });

  const deepReview = (kind: (typeof KINDS)[number], levels: number) => {
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'deep',
        kind,
        operation: 'CREATE',
        userInfo: {},
        object: { apiVersion: 'v1', kind: kind.kind, metadata: { name: 'deep' }, spec: '@' },
      },
    };
    const steps = levels / 2;
    return JSON.stringify(review).replace('"@"', `${'{"a":['.repeat(steps)}1${']}'.repeat(steps)}`);
  };

  it('patches objects nested 2,000 levels deep', async () => {
    const text = deepReview(KINDS[0]!, 2000);
    const res = await send('/mutate', Buffer.from(text), 'application/json');
    expect(res.status).toBe(200);
    const answer = JSON.parse(res.body);
    expect(answer.response).toMatchObject({ uid: 'deep', allowed: true, patchType: 'JSONPatch' });
    // Applied to a fresh parse of what was sent (too deep for the checker's structuredClone).
    const object = JSON.parse(text).request.object;
    const errors = applyPatch(object, decodePatch(answer) as Operation[]);
    expect(errors.filter((e) => e !== null)).toEqual([]);
    expect(object.metadata.labels).toEqual({ 'sidecar.istio.io/inject': 'true' });
  });

  // Subtrees no mutator reads are neither copied nor compared, so depth there costs nothing;
  // where a rule does walk past about 3,000 levels it runs out of stack and the review gets the
  // failure-policy answer, as with any rule that throws.
  it('answers nesting far deeper than any object the API server holds without a 5xx', async () => {
    for (const kind of KINDS) {
      const text = deepReview(kind, 400_000);
      for (const endpoint of ['/mutate', '/validate']) {
        const res = await send(endpoint, Buffer.from(text), 'application/json');
        expect(res.status).toBe(200);
        const answer = JSON.parse(res.body);
        expect(answer.response.uid).toBe('deep');
        const marked = endpoint === '/mutate' && kind.group !== 'example.com';
        expect(answer.response.patch !== undefined).toBe(marked);
        if (marked) {
          // Applied to a fresh parse of what was sent (too deep to clone here).
          const object = JSON.parse(text).request.object;
          const errors = applyPatch(object, decodePatch(answer) as Operation[]);
          expect(errors.filter((e) => e !== null)).toEqual([]);
          expect(object.metadata.labels).toEqual({ 'sidecar.istio.io/inject': 'true' });
        }
      }
    }
  });

  it('still serves after the run', async () => {
    const res = await send('/validate', Buffer.from('{}'), 'application/json');
    expect(res.status).toBe(400);
  });
});
