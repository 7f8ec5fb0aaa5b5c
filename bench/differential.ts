/**
 * Behaviour kept (npm run differential -- <other checkout>): the same random route edits through
 * this build's engine and another build's (a checkout with `npm run build` done), on both
 * endpoints, and /validate again on each object as /mutate patched it. Every answer must be the
 * same, byte for byte. For changes that should not change a decision (performance work): the
 * suite checks what each rule decides, this checks that nothing else moved.
 *
 *   npm run differential -- ../meshwarden-previous [count] [seed]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { applyPatch, type Operation } from 'rfc6902';

type Json = Record<string, unknown>;
type Decide = (body: string, endpoint: 'mutate' | 'validate') => string;

interface EngineModules {
  decode: {
    decodeAdmissionReview(raw: unknown): { ok: true; review: unknown } | { ok: false };
  };
  engine: {
    AdmissionEngine: new (options: { rules: unknown; policy: unknown; clock: () => Date }) => {
      decide(review: unknown, endpoint: string, options: { timeoutMs: number }): unknown;
    };
  };
  store: { PolicyStore: new () => unknown };
  rules: { defaultRules(): unknown };
}

/** The engine of the build at `root` (its dist/), with the clock fixed so stamps compare. */
async function engineOf(root: string): Promise<Decide> {
  const load = async <T>(path: string) =>
    (await import(pathToFileURL(resolve(root, 'dist/src', path)).href)) as T;
  const modules: EngineModules = {
    decode: await load<EngineModules['decode']>('admission/decode.js'),
    engine: await load<EngineModules['engine']>('admission/engine.js'),
    store: await load<EngineModules['store']>('policy/store.js'),
    rules: await load<EngineModules['rules']>('rules/index.js'),
  };
  const engine = new modules.engine.AdmissionEngine({
    rules: modules.rules.defaultRules(),
    policy: new modules.store.PolicyStore(),
    clock: () => new Date('2026-12-03T10:00:00Z'),
  });
  return (body, endpoint) => {
    const decoded = modules.decode.decodeAdmissionReview(JSON.parse(body));
    if (!decoded.ok) return 'undecodable';
    const outcome = engine.decide(decoded.review, endpoint, { timeoutMs: 8000 }) as {
      review: unknown;
    };
    return JSON.stringify(outcome.review);
  };
}

/** A small seeded generator, so a difference found can be found again. */
function random(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  return {
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    maybe: (p = 0.5) => next() < p,
    count: (max: number) => 1 + Math.floor(next() * max),
  };
}

type Random = ReturnType<typeof random>;
const WEIGHTS = [0, 0, 1, 5, 10, 20, 25, 33, 50, 67, 75, 80, 90, 95, 100, 100];

function virtualService(r: Random): Json {
  const route = (i: number): Json => {
    const out: Json = {};
    if (r.maybe(0.6)) out.name = r.pick(['primary', 'canary', `r${i}`, 'primary']);
    if (r.maybe(0.5))
      out.match = Array.from({ length: r.count(2) }, () => {
        const m: Json = {};
        if (r.maybe(0.4))
          m.uri = { [r.pick(['prefix', 'exact', 'regex'])]: r.pick(['/', '/api', '/api/', '.*']) };
        if (r.maybe(0.4))
          m.headers = {
            [r.pick(['x-canary', 'x-user', 'cookie'])]: {
              [r.pick(['exact', 'prefix', 'regex'])]: r.pick(['always', 'yes', 'a.*']),
            },
          };
        if (r.maybe(0.15)) m.withoutHeaders = { 'x-canary': { exact: 'never' } };
        if (r.maybe(0.2)) m.method = { exact: r.pick(['GET', 'POST']) };
        if (r.maybe(0.15)) m.port = r.pick([9080, 8080]);
        if (r.maybe(0.1)) m.queryParams = { v: { exact: '2' } };
        if (r.maybe(0.08)) m.sourceLabels = { app: 'web' };
        if (r.maybe(0.08)) m.gateways = [r.pick(['mesh', 'public'])];
        return m;
      });
    const n = r.count(3);
    out.route = Array.from({ length: n }, () => {
      const destination: Json = {
        host: r.pick(['reviews', 'reviews', 'reviews.shop.svc.cluster.local', 'ratings']),
      };
      if (r.maybe(0.7)) destination.subset = r.pick(['v1', 'v2', 'v3']);
      if (r.maybe(0.4)) destination.port = { number: r.pick([9080, 9080, 9090]) };
      return n > 1 || r.maybe(0.3) ? { destination, weight: r.pick(WEIGHTS) } : { destination };
    });
    if (r.maybe(0.05)) {
      delete out.route;
      out.redirect = { uri: '/elsewhere' };
    }
    return out;
  };
  const spec: Json = {
    hosts: r.maybe(0.8) ? ['reviews'] : ['reviews', 'reviews.shop.svc.cluster.local'],
    http: Array.from({ length: r.count(3) }, (_, i) => route(i)),
  };
  if (r.maybe(0.2)) spec.gateways = r.pick([['mesh'], ['public'], ['mesh', 'public']]);
  if (r.maybe(0.1))
    spec.tcp = [
      {
        route: [
          { destination: { host: 'reviews', subset: 'v1' }, weight: 50 },
          { destination: { host: 'reviews', subset: 'v2' }, weight: 50 },
        ],
      },
    ];
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', spec };
}

function httpRoute(r: Random): Json {
  const rule = (): Json => {
    const out: Json = {};
    if (r.maybe(0.6))
      out.matches = Array.from({ length: r.count(2) }, () => {
        const m: Json = {};
        if (r.maybe(0.6))
          m.path = {
            type: r.pick(['PathPrefix', 'Exact', 'RegularExpression']),
            value: r.pick(['/', '/api', '/api/v2', '/.*']),
          };
        if (r.maybe(0.3))
          m.headers = [{ name: r.pick(['x-canary', 'x-user']), value: r.pick(['always', 'yes']) }];
        if (r.maybe(0.2)) m.method = r.pick(['GET', 'POST']);
        if (r.maybe(0.1)) m.queryParams = [{ name: 'v', value: '2' }];
        return m;
      });
    out.backendRefs = Array.from({ length: r.count(3) }, () => {
      const ref: Json = {
        name: r.pick(['reviews-stable', 'reviews-canary', 'reviews-v3', 'reviews-stable']),
        port: r.pick([9080, 9080, 9090]),
      };
      if (r.maybe(0.8)) ref.weight = r.pick(WEIGHTS);
      return ref;
    });
    return out;
  };
  const spec: Json = {
    parentRefs: [
      r.maybe(0.5)
        ? { name: 'public', namespace: 'gateways', sectionName: 'https' }
        : { group: '', kind: 'Service', name: 'reviews' },
    ],
    rules: Array.from({ length: r.count(3) }, rule),
  };
  if (r.maybe(0.5)) spec.hostnames = [r.pick(['reviews.example.com', '*.example.com'])];
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', spec };
}

function trafficSplit(r: Random): Json {
  const backends = Array.from({ length: r.count(5) }, (_, i) => ({
    service: r.maybe(0.9) ? `reviews-v${i + 1}` : 'reviews-v1',
    weight: r.pick(WEIGHTS),
  }));
  return {
    apiVersion: `split.smi-spec.io/${r.pick(['v1alpha4', 'v1alpha3', 'v1alpha2', 'v1alpha1'])}`,
    kind: 'TrafficSplit',
    spec: { service: 'reviews', backends },
  };
}

/** A new version of `old`: weights changed, and now and then a list reversed or a route renamed. */
function edited(r: Random, old: Json): Json {
  const next = structuredClone(old);
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === 'object' && value !== null) {
      const record = value as Json;
      for (const key of Object.keys(record)) {
        if (key === 'weight' && r.maybe(0.6)) record[key] = r.pick(WEIGHTS);
        else visit(record[key]);
      }
    }
  };
  visit(next.spec);
  const spec = next.spec as Json;
  for (const list of [spec.http, spec.rules, spec.backends]) {
    if (!Array.isArray(list)) continue;
    if (r.maybe(0.15) && list.length > 1) list.reverse();
    const first = list[0] as Json | undefined;
    if (r.maybe(0.1) && typeof first?.name === 'string') first.name = 'renamed';
  }
  return next;
}

const KINDS = [
  { make: virtualService, group: 'networking.istio.io', resource: 'virtualservices' },
  { make: httpRoute, group: 'gateway.networking.k8s.io', resource: 'httproutes' },
  { make: trafficSplit, group: 'split.smi-spec.io', resource: 'trafficsplits' },
] as const;

const USERS = [
  'alice',
  'system:serviceaccount:flagger-system:flagger',
  'system:serviceaccount:argo-rollouts:argo-rollouts',
];

export async function differential(
  otherRoot: string,
  count: number,
  seed: number,
): Promise<{ same: number; differ: number; denied: number }> {
  const ours = await engineOf(resolve(import.meta.dirname, '../..'));
  const theirs = await engineOf(otherRoot);
  const r = random(seed);
  let same = 0;
  let differ = 0;
  let denied = 0;
  const compare = (body: string, endpoint: 'mutate' | 'validate') => {
    const a = ours(body, endpoint);
    const b = theirs(body, endpoint);
    if (a === b) same++;
    else if (++differ <= 3)
      console.log(`differs on ${endpoint}:\n  review ${body}\n  this  ${a}\n  other ${b}`);
    if (a.includes('"allowed":false')) denied++;
    return a;
  };
  for (let i = 0; i < count; i++) {
    const kind = r.pick(KINDS);
    const metadata: Json = { name: 'reviews', namespace: 'shop' };
    const old: Json = { ...kind.make(r), metadata };
    const create = r.maybe(0.15);
    const object = create ? old : edited(r, old);
    if (r.maybe(0.3)) metadata.annotations = { 'meshwarden.io/stable-backends': '{}' };
    else if (r.maybe(0.2))
      metadata.annotations = { 'meshwarden.io/last-weight-change': '2026-12-03T09:00:00Z' };
    const version = String(object.apiVersion).split('/')[1]!;
    const request = {
      uid: `review-${i}`,
      kind: { group: kind.group, version, kind: object.kind },
      resource: { group: kind.group, version, resource: kind.resource },
      namespace: 'shop',
      name: 'reviews',
      operation: create ? 'CREATE' : 'UPDATE',
      userInfo: { username: r.pick(USERS) },
      object,
      oldObject: create ? null : old,
      dryRun: false,
    };
    const review = (req: Json) =>
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: req });
    const mutated = JSON.parse(compare(review(request), 'mutate')) as {
      response?: { patch?: string };
    };
    compare(review(request), 'validate');
    const patch = mutated.response?.patch;
    if (patch === undefined) continue;
    const patched = structuredClone(object);
    applyPatch(patched, JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Operation[]);
    compare(review({ ...request, object: patched }), 'validate');
  }
  return { same, differ, denied };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [other, count = '4000', seed = '1'] = process.argv.slice(2);
  if (other === undefined) {
    console.error('usage: npm run differential -- <other checkout, built> [count] [seed]');
    process.exit(2);
  }
  const { same, differ, denied } = await differential(other, Number(count), Number(seed));
  console.log(`${same} answers the same, ${differ} different (${denied} denials)`);
  process.exit(differ === 0 ? 0 : 1);
}
