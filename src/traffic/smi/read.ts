import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord, isRecord } from '../../util/objects.js';
import type { LocatedError, MatchRef, SplitBackend, WeightedSplit } from '../model.js';
import { totalWeight } from '../model.js';
import { describe, quantityMilli, wholeNumber, type NumberReading } from '../numbers.js';
import { parseServiceRef } from '../service-name.js';
import { sourceOf, type ReaderOptions, type ReaderOutput, type RouteKind } from '../read-common.js';
import { smiFlow } from './flow.js';
import {
  isTrafficSplitVersion,
  TRAFFIC_SPLIT_GROUP,
  TRAFFIC_SPLIT_KIND,
  TRAFFIC_SPLIT_VERSIONS,
  type TrafficSplitVersion,
} from './api.js';

/** The versions whose TrafficSplit has `spec.matches`. */
const VERSIONS_WITH_MATCHES: readonly string[] = ['v1alpha3', 'v1alpha4'];

/**
 * Reads an SMI TrafficSplit (any version) into one split, and reports every way it breaks the
 * spec: unreadable or negative weights, a zero total, repeated backends, Services outside the
 * split's namespace, and `matches` in a version that has none. The split is returned whenever
 * its backends could be read, even with errors, so callers can still name them.
 */
export function readTrafficSplit(object: KubeObject, options: ReaderOptions = {}): ReaderOutput {
  const source = sourceOf(object, options);
  const errors: LocatedError[] = [];
  const { version } = source;
  if (source.group !== TRAFFIC_SPLIT_GROUP || !isTrafficSplitVersion(version)) {
    return {
      splits: [],
      errors: [
        {
          path: 'apiVersion',
          message: `${source.apiVersion || 'no apiVersion'} is not a TrafficSplit version meshwarden reads; use ${TRAFFIC_SPLIT_GROUP}/v1alpha1 to v1alpha4`,
        },
      ],
    };
  }
  const namespace = source.namespace;
  const spec = asRecord(object.spec);
  if (!spec) {
    return {
      splits: [],
      errors: [
        {
          path: 'spec',
          message: 'is missing: a TrafficSplit needs spec.service and spec.backends',
        },
      ],
    };
  }

  let rootService = '';
  if (typeof spec.service !== 'string' || spec.service === '') {
    errors.push({
      path: 'spec.service',
      message: `is ${spec.service === undefined ? 'missing' : describe(spec.service)}: set the root Service that clients call`,
    });
  } else {
    const root = parseServiceRef(spec.service);
    if (!root.ok) errors.push({ path: 'spec.service', message: root.reason });
    else if (root.namespace !== undefined && root.namespace !== namespace) {
      errors.push({
        path: 'spec.service',
        message: `root Service "${spec.service}" is in namespace ${root.namespace}, but the TrafficSplit is in ${namespace}: a TrafficSplit splits traffic within its own namespace; create it in ${root.namespace}`,
      });
    } else rootService = root.name;
  }

  const backends = readBackends(spec.backends, version, namespace, errors);

  let matchRefs: MatchRef[] | undefined;
  if (spec.matches !== undefined && spec.matches !== null) {
    if (!VERSIONS_WITH_MATCHES.includes(version)) {
      errors.push({
        path: 'spec.matches',
        message: `${source.apiVersion} has no matches: use ${TRAFFIC_SPLIT_GROUP}/v1alpha3 or v1alpha4 for HTTPRouteGroup matches, or remove spec.matches`,
      });
    } else matchRefs = readMatchRefs(spec.matches, errors);
  }

  if (backends.length === 0) return { splits: [], errors };
  const split: { -readonly [K in keyof WeightedSplit]: WeightedSplit[K] } = {
    key: 'backends',
    label: 'backends',
    path: 'spec.backends',
    namespace,
    rootService,
    backends,
    source,
  };
  // Assigned, not spread in: a conditional spread cost more than the rest of the split.
  if (matchRefs && matchRefs.length > 0) split.matchRefs = matchRefs;
  if (totalWeight(split) === 0n && !errors.some((e) => e.path.startsWith('spec.backends'))) {
    errors.push({
      path: 'spec.backends',
      message: `every backend has weight 0, so no traffic could be routed: give at least one backend (${backends.map((b) => b.name).join(', ')}) a weight above 0`,
    });
  }
  return { splits: [split], errors };
}

function readBackends(
  raw: unknown,
  version: TrafficSplitVersion,
  namespace: string,
  errors: LocatedError[],
): SplitBackend[] {
  const list = asArray(raw);
  if (!list || list.length === 0) {
    errors.push({
      path: 'spec.backends',
      message: `is ${list ? 'empty' : raw === undefined ? 'missing' : describe(raw)}: list at least one backend Service with a weight`,
    });
    return [];
  }
  const backends: SplitBackend[] = [];
  const firstSeen = new Map<string, number>();
  list.forEach((item, i) => {
    const path = `spec.backends[${i}]`;
    if (!isRecord(item)) {
      errors.push({ path, message: `is ${describe(item)}: each backend is {service, weight}` });
      return;
    }
    const serviceText = item.service;
    let service: string | undefined;
    if (typeof serviceText !== 'string' || serviceText === '') {
      errors.push({
        path: `${path}.service`,
        message: `is ${serviceText === undefined ? 'missing' : describe(serviceText)}: name the backend Service`,
      });
    } else {
      const ref = parseServiceRef(serviceText);
      if (!ref.ok) errors.push({ path: `${path}.service`, message: ref.reason });
      else if (ref.namespace !== undefined && ref.namespace !== namespace) {
        errors.push({
          path: `${path}.service`,
          message: `backend "${serviceText}" is in namespace ${ref.namespace}, but the TrafficSplit is in ${namespace}: backends must be Services in the split's own namespace; create a Service for it in ${namespace} or move the split`,
        });
      } else service = ref.name;
    }
    const name = service ?? (typeof serviceText === 'string' ? serviceText : `#${i}`);
    const weight = readWeight(item, version, path, name, errors);
    if (service === undefined || weight === undefined) return;
    const earlier = firstSeen.get(service);
    if (earlier !== undefined) {
      errors.push({
        path,
        message: `backend ${service} is listed twice (spec.backends[${earlier}] and [${i}]): list each Service once, with the combined weight`,
      });
      return;
    }
    firstSeen.set(service, i);
    backends.push({ id: service, name: service, weight, path, service });
  });
  return backends;
}

/** The backend's weight; an error at `<backendPath>.weight` when it cannot be read. */
function readWeight(
  item: Record<string, unknown>,
  version: TrafficSplitVersion,
  backendPath: string,
  backend: string,
  errors: LocatedError[],
): bigint | undefined {
  const raw = item.weight;
  const quantity = version === 'v1alpha1';
  const expected = quantity
    ? 'a quantity of 0 or more, such as 1, 500m or 0'
    : 'a whole number of 0 or more (0 sends it no traffic)';
  if (raw === undefined || raw === null) {
    errors.push({
      path: `${backendPath}.weight`,
      message: `backend ${backend} has no weight: set ${expected}`,
    });
    return undefined;
  }
  const reading: NumberReading = quantity ? quantityMilli(raw) : wholeNumber(raw);
  if (!reading.ok) {
    errors.push({
      path: `${backendPath}.weight`,
      message: `backend ${backend} has weight ${reading.reason}: set ${expected}`,
    });
    return undefined;
  }
  return reading.value;
}

function readMatchRefs(raw: unknown, errors: LocatedError[]): MatchRef[] {
  const list = asArray(raw);
  if (!list) {
    errors.push({
      path: 'spec.matches',
      message: `is ${describe(raw)}: list HTTPRouteGroups as {kind: HTTPRouteGroup, name}`,
    });
    return [];
  }
  const refs: MatchRef[] = [];
  list.forEach((item, i) => {
    const path = `spec.matches[${i}]`;
    const entry = asRecord(item);
    if (
      !entry ||
      entry.kind !== 'HTTPRouteGroup' ||
      typeof entry.name !== 'string' ||
      entry.name === ''
    ) {
      errors.push({
        path,
        message: `must be {kind: HTTPRouteGroup, name: <group>}; got ${entry ? JSON.stringify(entry) : describe(item)}`,
      });
      return;
    }
    refs.push({ kind: entry.kind, name: entry.name, path });
  });
  return refs;
}

/** The SMI route kind: read by every mesh, so it sits with the model rather than in a home. */
export const TRAFFIC_SPLIT_ROUTE_KIND: RouteKind = {
  id: 'smi-trafficsplit',
  group: TRAFFIC_SPLIT_GROUP,
  kind: TRAFFIC_SPLIT_KIND,
  versions: TRAFFIC_SPLIT_VERSIONS,
  read: readTrafficSplit,
  flow: smiFlow,
};
