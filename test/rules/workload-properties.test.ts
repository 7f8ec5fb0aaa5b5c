import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MESH_IDS, type MeshId } from '../../src/mesh/ids.js';
import { meshAdapter, meshAdapters } from '../../src/mesh/registry.js';
import { ENFORCEMENTS, VERSION_DEFAULTS } from '../../src/policy/types.js';
import { makeReview } from '../helpers/reviews.js';
import { admit, workloadEngine } from '../helpers/workload-engine.js';

/** CONTRACT §5, written out here rather than imported, so the test does not trust the code. */
const APP_KEYS = ['app', 'app.kubernetes.io/name', 'service.istio.io/canonical-name'];
const VERSION_KEYS = [
  'version',
  'app.kubernetes.io/version',
  'service.istio.io/canonical-revision',
];
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const markerKeys = meshAdapters().flatMap((a) => (a.injection ? [a.injection.marker.key] : []));
const interestingValues = [
  ...new Set(
    meshAdapters().flatMap((a) =>
      a.injection
        ? [
            a.injection.marker.value,
            ...a.injection.marker.optOutValues,
            ...a.injection.marker.optInValues,
          ]
        : [],
    ),
  ),
  'FALSE',
  'Enabled',
  'ambient',
  'v1',
  '',
];

const key = fc.oneof(
  fc.constantFrom(
    ...markerKeys,
    ...APP_KEYS,
    ...VERSION_KEYS,
    'istio.io/dataplane-mode',
    'a/b',
    'x~y',
    '~1',
    '~0/',
    '/',
    '~',
    'a~1b',
  ),
  fc.stringMatching(/^[a-z0-9~/._-]{1,16}$/),
);
const value = fc.oneof(fc.constantFrom(...interestingValues), fc.string({ maxLength: 12 }));
/** A labels or annotations map: absent, null (YAML `labels:`), empty, or holding keys. */
const metadataMap = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant({}),
  fc.dictionary(key, value, { maxKeys: 6, noNullPrototype: true }),
);
const templateMetadata = fc.oneof(
  fc.constant(undefined),
  fc.constant({}),
  fc
    .record({
      labels: metadataMap,
      annotations: metadataMap,
      extra: fc.option(fc.string(), { nil: undefined }),
    })
    .map(({ labels, annotations, extra }) => ({
      ...(labels === undefined ? {} : { labels }),
      ...(annotations === undefined ? {} : { annotations }),
      ...(extra === undefined ? {} : { name: extra }),
    })),
);
const image = fc.oneof(
  fc.constantFrom(
    'nginx',
    'app:1.2.3',
    'localhost:5000/app:v2',
    `r.io/a@sha256:${'ab'.repeat(32)}`,
    'x:_bad.',
    'x:',
  ),
  fc.string({ maxLength: 30 }),
);
const name = fc.oneof(
  fc.constantFrom('echo-v2', 'podinfo', 'reviews-v1.2', 'api-1.2.3'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
);
const namespaceLabels = fc.constantFrom<Record<string, string> | undefined>(
  undefined,
  { 'istio-injection': 'disabled' },
  { 'istio-injection': 'enabled' },
  { 'kuma.io/sidecar-injection': 'disabled' },
  { 'appmesh.k8s.aws/sidecarInjectorWebhook': 'disabled' },
);

const workload = fc.record({
  kind: fc.constantFrom('Deployment', 'StatefulSet', 'DaemonSet'),
  name,
  metadata: templateMetadata,
  image,
  mesh: fc.constantFrom(...MESH_IDS),
  versionDefault: fc.constantFrom(...VERSION_DEFAULTS),
  injection: fc.boolean(),
  enforcement: fc.constantFrom(...ENFORCEMENTS),
  update: fc.boolean(),
  namespaceLabels,
});

type Workload = typeof workload extends fc.Arbitrary<infer T> ? T : never;

function build(w: Workload): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: w.kind,
    metadata: { name: w.name, namespace: 'shop', labels: { team: 'a' } },
    spec: {
      selector: { matchLabels: { team: 'a' } },
      template: {
        ...(w.metadata === undefined ? {} : { metadata: structuredClone(w.metadata) }),
        spec: {
          containers: [
            { name: 'main', image: w.image },
            { name: 'side', image: 'other:9' },
          ],
        },
      },
    },
  };
}

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const templateOf = (o: Json) => (o.spec as { template: Json }).template;

/**
 * Takes back from `patched` the only changes the workload rules may make (the marker key in its map,
 * the `version` label, and the maps created to hold them), checking each on the way; what is left
 * must equal the object as received.
 */
function undoAllowedChanges(original: Json, patched: Json, mesh: MeshId | undefined): Json {
  const result = structuredClone(patched);
  const oTemplate = templateOf(original);
  const rTemplate = templateOf(result);
  const oMeta = oTemplate.metadata;
  const rMeta = rTemplate.metadata;
  const marker = mesh === undefined ? undefined : meshAdapter(mesh).injection?.marker;
  const allowed: [string, string, (v: unknown) => boolean][] = [
    ['labels', 'version', (v) => typeof v === 'string' && v !== '' && LABEL_VALUE.test(v)],
  ];
  if (marker)
    allowed.push([
      marker.on === 'label' ? 'labels' : 'annotations',
      marker.key,
      (v) => v === marker.value,
    ]);
  if (isMap(rMeta)) {
    for (const [mapName, k, valid] of allowed) {
      const oMap = isMap(oMeta) ? oMeta[mapName] : undefined;
      const rMap = rMeta[mapName];
      if (!isMap(rMap) || !(k in rMap)) continue;
      const before = isMap(oMap) ? oMap[k] : undefined;
      if (rMap[k] === before) continue;
      expect(valid(rMap[k]), `${mapName}.${k} = ${JSON.stringify(rMap[k])}`).toBe(true);
      if (isMap(oMap) && k in oMap) rMap[k] = before;
      else delete rMap[k];
      if (Object.keys(rMap).length === 0 && !isMap(oMap)) {
        if (isMap(oMeta) && mapName in oMeta) rMeta[mapName] = oMeta[mapName];
        else delete rMeta[mapName];
      }
    }
    if (Object.keys(rMeta).length === 0 && oMeta === undefined) delete rTemplate.metadata;
  }
  return result;
}

function firstOf(labels: unknown, keys: string[]): string | undefined {
  if (!isMap(labels)) return undefined;
  for (const k of keys) if (typeof labels[k] === 'string' && labels[k] !== '') return labels[k];
  return undefined;
}

describe('workload rules over generated pod templates', () => {
  it('patch applies strictly, touches nothing else, is idempotent, and the decision follows the labels', async () => {
    await fc.assert(
      fc.asyncProperty(workload, async (w) => {
        const engine = workloadEngine(
          {
            mesh: w.mesh,
            workloadScope: 'all',
            sidecarInjection: { enabled: w.injection },
            versionLabels: { default: w.versionDefault, enforcement: w.enforcement },
          },
          w.namespaceLabels ? { namespaceLabels: { shop: w.namespaceLabels } } : {},
        );
        const object = build(w);
        const received = structuredClone(object);
        const review = makeReview({ object, ...(w.update ? { oldObject: build(w) } : {}) });
        // admit() checks each response with the contract checker and applies the patch strictly.
        const result = await admit(engine, review);
        expect(object).toEqual(received);
        expect(result.secondPatch).toEqual([]);
        const patched = result.patched!;
        // Only the mesh in force may have its marker written, and only when injection is on.
        expect(undoAllowedChanges(received, patched, w.injection ? w.mesh : undefined)).toEqual(
          received,
        );
        // Every op stays inside the pod template's metadata.
        for (const op of result.patch)
          expect(op.path.startsWith('/spec/template/metadata')).toBe(true);

        const meta = templateOf(patched).metadata;
        const labels = isMap(meta) ? meta.labels : undefined;
        const complete =
          firstOf(labels, APP_KEYS) !== undefined && firstOf(labels, VERSION_KEYS) !== undefined;
        expect(result.allowed).toBe(complete || w.enforcement !== 'enforce');
        if (!complete && w.enforcement === 'warn')
          expect(result.warnings.length).toBeGreaterThan(0);
        for (const warning of result.warnings) expect(warning.length).toBeLessThanOrEqual(120);

        // With nothing on the template or namespace speaking about injection, the marker is written.
        const marker = meshAdapter(w.mesh).injection?.marker;
        const original = templateOf(received).metadata;
        const silent =
          !isMap(original) ||
          [original.labels, original.annotations].every(
            (m) => !isMap(m) || (!(marker && marker.key in m) && !('istio.io/dataplane-mode' in m)),
          );
        if (marker && w.injection && silent && w.namespaceLabels === undefined) {
          const map = isMap(meta)
            ? meta[marker.on === 'label' ? 'labels' : 'annotations']
            : undefined;
          expect(isMap(map) && map[marker.key]).toBe(marker.value);
        }
      }),
      { numRuns: 600 },
    );
  });

  it('an existing opt-out value is always kept and no marker is added', async () => {
    const cases = meshAdapters().flatMap((a) =>
      a.injection
        ? a.injection.marker.optOutValues.map((v) => [a.id, a.injection!.marker, v] as const)
        : [],
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...cases),
        metadataMap,
        metadataMap,
        async ([mesh, marker, optOut], labels, annotations) => {
          const own = marker.on === 'label' ? 'labels' : 'annotations';
          const maps: Record<string, unknown> = { labels, annotations };
          maps[own] = { ...(isMap(maps[own]) ? maps[own] : {}), [marker.key]: optOut };
          const object = build({
            kind: 'Deployment',
            name: 'echo-v1',
            metadata: maps,
            image: 'echo:1',
            mesh,
            versionDefault: 'none',
            injection: true,
            enforcement: 'audit',
            update: false,
            namespaceLabels: undefined,
          });
          const result = await admit(
            workloadEngine({ mesh, versionLabels: { enforcement: 'audit' } }),
            makeReview({ object }),
          );
          expect(result.patch).toEqual([]);
          expect(result.allowed).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
