import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord, asStringMap } from '../../util/objects.js';
import type { LocatedError, SplitBackend } from '../../traffic/model.js';
import { describe, wholeNumber } from '../../traffic/numbers.js';
import {
  RouteSplits,
  sourceOf,
  type ReaderOptions,
  type ReaderOutput,
} from '../../traffic/read-common.js';

/** A `single` destination takes all of the route's traffic. */
const SINGLE_DESTINATION_WEIGHT = 100n;

/**
 * Reads a `gateway.solo.io/v1` VirtualService (`spec.virtualHost.routes`) or RouteTable
 * (`spec.routes`): `routeAction.multi.destinations` is a weighted split, `routeAction.single` a
 * split with one backend. Delegating, redirecting and direct-response routes carry no weights.
 */
export function readGlooRoutes(object: KubeObject, options: ReaderOptions = {}): ReaderOutput {
  const source = sourceOf(object, options);
  const errors: LocatedError[] = [];
  const found = new RouteSplits(source);
  const { splits } = found;
  const spec = asRecord(object.spec);
  const isRouteTable = source.kind === 'RouteTable';
  const base = isRouteTable ? 'spec.routes' : 'spec.virtualHost.routes';
  if (!spec) {
    return { splits, errors: [{ path: 'spec', message: `is missing: expected ${base}` }] };
  }
  const routes = isRouteTable ? spec.routes : asRecord(spec.virtualHost)?.routes;
  if (routes === undefined || routes === null) return { splits, errors };
  const list = asArray(routes);
  if (!list) {
    return {
      splits,
      errors: [{ path: base, message: `is ${describe(routes)}: expected a list of routes` }],
    };
  }
  list.forEach((item, i) => {
    const path = `${base}[${i}]`;
    const route = asRecord(item);
    if (!route) {
      errors.push({ path, message: `is ${describe(item)}: expected a route` });
      return;
    }
    const action = asRecord(route.routeAction);
    if (!action) return;
    const name = typeof route.name === 'string' && route.name !== '' ? route.name : undefined;
    let backends: SplitBackend[] = [];
    if (action.multi !== undefined) {
      backends = readMulti(action.multi, `${path}.routeAction.multi`, source.namespace, errors);
    } else if (action.single !== undefined) {
      const at = `${path}.routeAction.single`;
      const dest = readDestination(action.single, at, source.namespace, errors);
      if (dest) backends = [{ ...dest, weight: SINGLE_DESTINATION_WEIGHT, path: at }];
    } else if (action.upstreamGroup !== undefined) {
      errors.push({
        path: `${path}.routeAction.upstreamGroup`,
        message:
          'refers to an UpstreamGroup, whose weights live in that object; meshwarden does not read them',
      });
    }
    if (backends.length === 0) return;
    found.add({ list: 'routes', index: i, name, path, backends });
  });
  return { splits, errors };
}

function readMulti(
  raw: unknown,
  path: string,
  namespace: string,
  errors: LocatedError[],
): SplitBackend[] {
  const destinations = asArray(asRecord(raw)?.destinations);
  if (!destinations) {
    errors.push({
      path: `${path}.destinations`,
      message: 'is missing: expected a list of weighted destinations',
    });
    return [];
  }
  const backends: SplitBackend[] = [];
  let broken = false;
  destinations.forEach((item, j) => {
    const at = `${path}.destinations[${j}]`;
    const entry = asRecord(item);
    const dest = readDestination(entry?.destination, `${at}.destination`, namespace, errors);
    if (!entry || !dest) {
      broken = true;
      return;
    }
    // Gloo reads a missing weight as 0 ("a weight of 0 routes no traffic").
    let weight = 0n;
    if (entry.weight !== undefined && entry.weight !== null) {
      const reading = wholeNumber(entry.weight);
      if (!reading.ok) {
        errors.push({
          path: `${at}.weight`,
          message: `destination ${dest.name} has weight ${reading.reason}: set a whole number of 0 or more`,
        });
        broken = true;
        return;
      }
      weight = reading.value;
    }
    backends.push({ ...dest, weight, path: at });
  });
  return broken ? [] : backends;
}

function readDestination(
  raw: unknown,
  path: string,
  namespace: string,
  errors: LocatedError[],
): { id: string; name: string } | undefined {
  const dest = asRecord(raw);
  const subset = asStringMap(asRecord(dest?.subset)?.values);
  const subsetText = Object.keys(subset)
    .sort()
    .map((k) => `${k}=${subset[k] ?? ''}`)
    .join(',');
  const suffix = subsetText === '' ? '' : ` (${subsetText})`;
  const upstream = asRecord(dest?.upstream);
  if (upstream && typeof upstream.name === 'string') {
    const ns = typeof upstream.namespace === 'string' ? upstream.namespace : namespace;
    return {
      id: `upstream:${ns}/${upstream.name}{${subsetText}}`,
      name: `${upstream.name}${suffix}`,
    };
  }
  const kube = asRecord(dest?.kube);
  const kubeRef = asRecord(kube?.ref);
  if (kube && kubeRef && typeof kubeRef.name === 'string') {
    const ns = typeof kubeRef.namespace === 'string' ? kubeRef.namespace : namespace;
    const port = typeof kube.port === 'number' ? `:${kube.port}` : '';
    return {
      id: `kube:${ns}/${kubeRef.name}${port}{${subsetText}}`,
      name: `${kubeRef.name}${suffix}`,
    };
  }
  const consul = asRecord(dest?.consul);
  if (consul && typeof consul.serviceName === 'string') {
    return {
      id: `consul:${consul.serviceName}{${subsetText}}`,
      name: `${consul.serviceName}${suffix}`,
    };
  }
  errors.push({
    path,
    message: 'names no upstream, kube or consul destination meshwarden can read',
  });
  return undefined;
}
