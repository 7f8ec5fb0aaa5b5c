import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord } from '../../util/objects.js';
import type { LocatedError, SplitBackend } from '../../traffic/model.js';
import { describe, wholeNumber } from '../../traffic/numbers.js';
import {
  RouteSplits,
  sourceOf,
  type ReaderOptions,
  type ReaderOutput,
} from '../../traffic/read-common.js';

/** Istio reads a single destination as all of the route's traffic, whatever its weight says. */
const SINGLE_DESTINATION_WEIGHT = 100n;

/**
 * Reads a `networking.istio.io` VirtualService (v1, v1beta1, v1alpha3): every `http`, `tcp` and
 * `tls` route with destinations is a split. A route without `route` (redirect, direct response,
 * delegate) carries no weights and is left out.
 */
export function readIstioVirtualService(
  object: KubeObject,
  options: ReaderOptions = {},
): ReaderOutput {
  const source = sourceOf(object, options);
  const errors: LocatedError[] = [];
  const found = new RouteSplits(source);
  const { splits } = found;
  const spec = asRecord(object.spec);
  if (!spec) {
    return {
      splits,
      errors: [
        { path: 'spec', message: 'is missing: a VirtualService needs spec.hosts and routes' },
      ],
    };
  }
  // Joined by hand: Array#join cost more than the rest of reading a small object's hosts.
  let root = '';
  let first = true;
  for (const h of asArray(spec.hosts) ?? []) {
    if (typeof h !== 'string') continue;
    root = first ? h : `${root},${h}`;
    first = false;
  }
  for (const list of ['http', 'tcp', 'tls'] as const) {
    const routes = spec[list];
    if (routes === undefined || routes === null) continue;
    const items = asArray(routes);
    if (!items) {
      errors.push({
        path: `spec.${list}`,
        message: `is ${describe(routes)}: expected a list of routes`,
      });
      continue;
    }
    items.forEach((item, i) => {
      const path = `spec.${list}[${i}]`;
      const route = asRecord(item);
      if (!route) {
        errors.push({ path, message: `is ${describe(item)}: expected a route` });
        return;
      }
      if (route.route === undefined || route.route === null) return;
      const name = list === 'http' && typeof route.name === 'string' ? route.name : undefined;
      const backends = readDestinations(route.route, `${path}.route`, errors);
      if (backends.length === 0) return;
      found.add({
        list,
        index: i,
        name,
        path,
        backends,
        rootService: root,
        qualifier: list === 'http' ? '' : list,
      });
    });
  }
  return { splits, errors };
}

function readDestinations(raw: unknown, path: string, errors: LocatedError[]): SplitBackend[] {
  const list = asArray(raw);
  if (!list) {
    errors.push({ path, message: `is ${describe(raw)}: expected a list of destinations` });
    return [];
  }
  const backends: SplitBackend[] = [];
  let broken = false;
  list.forEach((item, j) => {
    const at = `${path}[${j}]`;
    const entry = asRecord(item);
    const destination = asRecord(entry?.destination);
    const host = destination?.host;
    if (!entry || !destination || typeof host !== 'string' || host === '') {
      errors.push({
        path: `${at}.destination.host`,
        message: 'is missing: each destination names a host',
      });
      broken = true;
      return;
    }
    const subset =
      typeof destination.subset === 'string' && destination.subset !== ''
        ? destination.subset
        : undefined;
    const port = asRecord(destination.port)?.number;
    const portText = typeof port === 'number' ? `:${port}` : '';
    let weight = 0n;
    if (list.length === 1) weight = SINGLE_DESTINATION_WEIGHT;
    else if (entry.weight !== undefined && entry.weight !== null) {
      const reading = wholeNumber(entry.weight);
      if (!reading.ok) {
        errors.push({
          path: `${at}.weight`,
          message: `destination ${host} has weight ${reading.reason}: set a whole number of 0 or more`,
        });
        broken = true;
        return;
      }
      weight = reading.value;
    }
    backends.push({
      id: `${host}${portText}${subset === undefined ? '' : `#${subset}`}`,
      name: `${host}${portText}${subset === undefined ? '' : ` (subset ${subset})`}`,
      weight,
      path: at,
    });
  });
  return broken ? [] : backends;
}
