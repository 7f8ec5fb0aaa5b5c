import type { KindRef, SkippedKind } from '../admission/rule.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { KubeObject } from '../k8s/objects.js';
import { asArray, asRecord, asString, type JsonRecord } from '../util/objects.js';
import { imageTag, isVersionTag } from './version-tags.js';

/** The workloads whose pod templates the workload rules look at (CONTRACT §3). */
export const WORKLOAD_KINDS: readonly KindRef[] = [
  { group: 'apps', kind: 'Deployment', versions: ['v1'] },
  { group: 'apps', kind: 'StatefulSet', versions: ['v1'] },
  { group: 'apps', kind: 'DaemonSet', versions: ['v1'] },
  // Argo Rollouts' pods come from its own ReplicaSets, never through a Deployment.
  { group: 'argoproj.io', kind: 'Rollout', versions: ['v1alpha1'] },
];

/** Pod-carrying kinds the workload rules leave alone on purpose, and why (for `review`). */
export const SKIPPED_POD_KINDS: readonly SkippedKind[] = [
  { group: 'batch', kind: 'Job', reason: 'a sidecar keeps a Job from completing' },
  { group: 'batch', kind: 'CronJob', reason: 'a sidecar keeps its Jobs from completing' },
  { group: '', kind: 'Pod', reason: 'pods are marked through the workload that creates them' },
  { group: 'apps', kind: 'ReplicaSet', reason: 'checked through its Deployment or Rollout' },
];

/** App label keys, first found wins (CONTRACT §5). */
export const APP_LABEL_KEYS = [
  'app',
  'app.kubernetes.io/name',
  'service.istio.io/canonical-name',
] as const;

/** Version label keys, first found wins (CONTRACT §5). */
export const VERSION_LABEL_KEYS = [
  'version',
  'app.kubernetes.io/version',
  'service.istio.io/canonical-revision',
] as const;

/** Where the pod template's labels live, for messages. */
export const TEMPLATE_LABELS_FIELD = 'spec.template.metadata.labels';

/** `spec.template` when it is an object. */
export function podTemplate(object: KubeObject): JsonRecord | undefined {
  return asRecord(asRecord(object.spec)?.template);
}

/** A metadata map (`labels` or `annotations`) of the pod template, when it is an object. */
export function templateMap(
  object: KubeObject,
  map: 'labels' | 'annotations',
): JsonRecord | undefined {
  return asRecord(asRecord(podTemplate(object)?.metadata)?.[map]);
}

export interface FoundLabel {
  readonly key: string;
  readonly value: string;
}

/** The first of `keys` that holds a non-empty string; an empty value labels nothing. */
export function firstLabel(
  labels: JsonRecord | undefined,
  keys: readonly string[],
): FoundLabel | undefined {
  if (!labels) return undefined;
  for (const key of keys) {
    const value = labels[key];
    if (typeof value === 'string' && value !== '') return { key, value };
  }
  return undefined;
}

/** The image of the first container of the pod template. */
export function firstContainerImage(object: KubeObject): string | undefined {
  const containers = asArray(asRecord(podTemplate(object)?.spec)?.containers);
  return asString(asRecord(containers?.[0])?.image);
}

/** `<kind> <namespace>/<name>` as users know the object, for messages. */
export function workloadId(object: KubeObject, request: AdmissionRequest): string {
  const namespace = request.namespace ?? object.metadata?.namespace;
  const name = workloadName(object, request) ?? '(unnamed)';
  return `${request.kind.kind} ${namespace === undefined ? '' : `${namespace}/`}${name}`;
}

export function workloadName(object: KubeObject, request: AdmissionRequest): string | undefined {
  const name = object.metadata?.name ?? request.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

const LABEL_VALUE_MAX = 63;

/** Is `value` a valid label value: at most 63 characters, alphanumerics at both ends, `-_.` inside? */
export function isLabelValue(value: string): boolean {
  return (
    value.length <= LABEL_VALUE_MAX &&
    (value === '' || /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(value))
  );
}

/**
 * Turns arbitrary text into a non-empty valid label value, or undefined when nothing usable is
 * left: other characters become `-`, the result is cut to 63 characters, and anything but
 * alphanumerics is trimmed from both ends.
 */
export function toLabelValue(text: string): string | undefined {
  const cleaned = text
    .replace(/[^-A-Za-z0-9_.]/g, '-')
    .slice(0, LABEL_VALUE_MAX)
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/[^A-Za-z0-9]+$/, '');
  return cleaned === '' ? undefined : cleaned;
}

/**
 * The version an image names: its tag, when the tag looks like a version (see `isVersionTag`),
 * made into a label value. Undefined otherwise: `nginx` and `nginx:latest` tell versions apart
 * from nothing, and a digest-only image names no version a person can read.
 */
export function versionFromImage(image: string): string | undefined {
  const tag = imageTag(image);
  if (tag === undefined) return undefined;
  const value = toLabelValue(tag);
  return value !== undefined && isVersionTag(value) ? value : undefined;
}

// `v2`, `v1.2`, `v1alpha1`, `v2beta` or a dotted number such as `1.2.3`. A bare number is not
// taken: `redis-6` or `worker-2` name many things that are not versions.
const VERSION_SUFFIX = /^(v\d+(\.\d+)*([a-z]+\d*)?|\d+(\.\d+)+)$/;

function versionSuffix(name: string): string | undefined {
  const suffix = name.slice(name.lastIndexOf('-') + 1);
  return suffix !== name && VERSION_SUFFIX.test(suffix) ? suffix : undefined;
}

/** A version-looking last `-` segment of a workload name: `echo-v2` gives `v2`. */
export function versionFromName(name: string): string | undefined {
  const suffix = versionSuffix(name);
  return suffix === undefined ? undefined : toLabelValue(suffix);
}

/** The workload name without its version suffix: `reviews-v2` gives `reviews`. */
export function appFromName(name: string): string {
  const suffix = versionSuffix(name);
  return suffix === undefined ? name : name.slice(0, name.length - suffix.length - 1);
}
