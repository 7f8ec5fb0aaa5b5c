import { Ajv, type ValidateFunction } from 'ajv';
import type { KubeObject } from '../../src/k8s/objects.js';
import { crdSchema } from './fixtures.js';

/**
 * Validates objects against the `openAPIV3Schema` of upstream CRDs, as the API server's
 * structural schema validation would (CEL rules, `x-kubernetes-validations`, are not run).
 */
// Upstream schemas use `required` inside `oneOf`/`not` branches, which strict mode flags.
const ajv = new Ajv({
  allErrors: true,
  strict: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
});
// Kubernetes extensions: accepted as annotations, the API server interprets them.
ajv.addVocabulary([
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-embedded-resource',
]);
const int = (bits: 32 | 64) => ({
  type: 'number' as const,
  validate: (n: number) =>
    Number.isInteger(n) && (bits === 64 || (n >= -(2 ** 31) && n <= 2 ** 31 - 1)),
});
ajv.addFormat('int32', int(32));
ajv.addFormat('int64', int(64));
ajv.addFormat('uint32', {
  type: 'number',
  validate: (n: number) => Number.isInteger(n) && n >= 0 && n <= 2 ** 32 - 1,
});
ajv.addFormat('double', { type: 'number', validate: () => true });
ajv.addFormat('float', { type: 'number', validate: () => true });
ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
ajv.addFormat('date-time', {
  type: 'string',
  validate: (s: string) => !Number.isNaN(Date.parse(s)),
});
ajv.addFormat('duration', /^.+$/);
ajv.addFormat('string', /^/);

/** Which CRD describes each kind and version a writer emits. */
const CRDS: Record<string, { file: string; name: string }> = {
  'networking.istio.io/VirtualService': {
    file: 'istio/customresourcedefinitions.gen.yaml',
    name: 'virtualservices.networking.istio.io',
  },
  'gateway.networking.k8s.io/HTTPRoute': {
    file: 'gateway-api/gateway.networking.k8s.io_httproutes.yaml',
    name: 'httproutes.gateway.networking.k8s.io',
  },
  'gateway.networking.k8s.io/GRPCRoute': {
    file: 'gateway-api/gateway.networking.k8s.io_grpcroutes.yaml',
    name: 'grpcroutes.gateway.networking.k8s.io',
  },
  'consul.hashicorp.com/ServiceSplitter': {
    file: 'consul/consul.hashicorp.com_servicesplitters.yaml',
    name: 'servicesplitters.consul.hashicorp.com',
  },
  'consul.hashicorp.com/ServiceDefaults': {
    file: 'consul/consul.hashicorp.com_servicedefaults.yaml',
    name: 'servicedefaults.consul.hashicorp.com',
  },
  'appmesh.k8s.aws/VirtualRouter': {
    file: 'appmesh/appmesh.k8s.aws_virtualrouters.yaml',
    name: 'virtualrouters.appmesh.k8s.aws',
  },
  'appmesh.k8s.aws/VirtualNode': {
    file: 'appmesh/appmesh.k8s.aws_virtualnodes.yaml',
    name: 'virtualnodes.appmesh.k8s.aws',
  },
  'appmesh.k8s.aws/VirtualService': {
    file: 'appmesh/appmesh.k8s.aws_virtualservices.yaml',
    name: 'virtualservices.appmesh.k8s.aws',
  },
  'gateway.solo.io/RouteTable': {
    file: 'gloo/gateway.solo.io_v1_RouteTable.yaml',
    name: 'routetables.gateway.solo.io',
  },
  // OSM's own CRD: the TrafficSplit versions OSM serves (v1alpha2).
  'split.smi-spec.io/TrafficSplit': {
    file: 'smi/osm_smi_traffic_split.yaml',
    name: 'trafficsplits.split.smi-spec.io',
  },
};

const compiled = new Map<string, { validate: ValidateFunction; schema: Schema }>();

interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/**
 * Fields the schema does not describe: the API server would silently prune them, so the object
 * applied would not be the object written. As in apiextensions' pruning, preserve-unknown-fields
 * keeps unknown fields of its own node only; described properties below are pruned as usual.
 */
function prunedFields(schema: Schema, value: unknown, path: string, out: string[]): void {
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => prunedFields(schema.items!, v, `${path}/${i}`, out));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) {
    const described = schema.properties?.[key];
    if (described) prunedFields(described, child, `${path}/${key}`, out);
    else if (typeof schema.additionalProperties === 'object')
      prunedFields(schema.additionalProperties, child, `${path}/${key}`, out);
    else if (!preserve && schema.additionalProperties !== true && schema.properties)
      out.push(`${path}/${key} is not in the schema (the API server would prune it)`);
  }
}

/**
 * CRDs a mesh bundles in place of upstream's, to check what that mesh is sent: Linkerd 2.17's
 * copy of the Gateway API HTTPRoute CRD (bundle v0.7.1, serving v1beta1).
 */
export const BUNDLED_CRDS = {
  linkerdHttpRoute: {
    file: 'linkerd/gateway.networking.k8s.io_httproutes.yaml',
    name: 'httproutes.gateway.networking.k8s.io',
  },
} as const;

/** Problems of `object` against its CRD schema (or the `crd` given); empty when valid. */
export function crdProblems(
  object: KubeObject,
  crdOverride?: { file: string; name: string },
): string[] {
  const apiVersion = String(object.apiVersion);
  const [group = '', version = ''] = apiVersion.split('/');
  const key = `${group}/${String(object.kind)}`;
  const crd = crdOverride ?? CRDS[key];
  if (!crd) return [`no CRD fixture for ${key}`];
  const cacheKey = `${crd.file}/${key}/${version}`;
  let entry = compiled.get(cacheKey);
  if (!entry) {
    const schema = crdSchema(crd.file, crd.name, version) as Schema;
    entry = { validate: ajv.compile(schema), schema };
    compiled.set(cacheKey, entry);
  }
  const problems: string[] = [];
  if (!entry.validate(object))
    for (const e of entry.validate.errors ?? [])
      problems.push(`${e.instancePath || '/'} ${e.message ?? ''}`);
  // The envelope is the API server's own, whatever the CRD says about it.
  const { metadata: _metadata, apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  prunedFields(entry.schema, rest, '', problems);
  return problems;
}
