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

const ROUTE_TYPES = ['httpRoute', 'http2Route', 'grpcRoute', 'tcpRoute'] as const;

/**
 * Reads an `appmesh.k8s.aws/v1beta2` VirtualRouter: each route's `action.weightedTargets` is a
 * split, keyed by the route's (required) name.
 */
export function readAppMeshVirtualRouter(
  object: KubeObject,
  options: ReaderOptions = {},
): ReaderOutput {
  const source = sourceOf(object, options);
  const errors: LocatedError[] = [];
  const found = new RouteSplits(source);
  const { splits } = found;
  const spec = asRecord(object.spec);
  const routes = spec?.routes;
  if (!spec || routes === undefined || routes === null) {
    return {
      splits,
      errors: [
        {
          path: spec ? 'spec.routes' : 'spec',
          message: 'is missing: a VirtualRouter needs routes with weightedTargets',
        },
      ],
    };
  }
  const list = asArray(routes);
  if (!list) {
    return {
      splits,
      errors: [
        { path: 'spec.routes', message: `is ${describe(routes)}: expected a list of routes` },
      ],
    };
  }
  list.forEach((item, i) => {
    const path = `spec.routes[${i}]`;
    const route = asRecord(item);
    if (!route) {
      errors.push({ path, message: `is ${describe(item)}: expected a route` });
      return;
    }
    const type = ROUTE_TYPES.find((t) => asRecord(route[t]) !== undefined);
    if (type === undefined) {
      errors.push({ path, message: `has none of ${ROUTE_TYPES.join(', ')}` });
      return;
    }
    const at = `${path}.${type}.action.weightedTargets`;
    const targets = asArray(asRecord(asRecord(route[type])?.action)?.weightedTargets);
    if (!targets) {
      errors.push({ path: at, message: 'is missing: a route needs weightedTargets' });
      return;
    }
    const backends: SplitBackend[] = [];
    let broken = false;
    targets.forEach((t, j) => {
      const tp = `${at}[${j}]`;
      const target = asRecord(t);
      const ref = asRecord(target?.virtualNodeRef);
      const arn = target?.virtualNodeARN;
      let id: string;
      let name: string;
      if (ref && typeof ref.name === 'string') {
        const ns = typeof ref.namespace === 'string' ? ref.namespace : source.namespace;
        id = `${ns}/${ref.name}`;
        name = ns === source.namespace ? ref.name : `${ns}/${ref.name}`;
      } else if (typeof arn === 'string' && arn !== '') {
        id = arn;
        name = arn;
      } else {
        errors.push({ path: tp, message: 'names no virtualNodeRef or virtualNodeARN' });
        broken = true;
        return;
      }
      if (target && typeof target.port === 'number') id = `${id}:${target.port}`;
      const reading = wholeNumber(target?.weight);
      if (!reading.ok) {
        errors.push({
          path: `${tp}.weight`,
          message: `target ${name} has weight ${reading.reason}: set a whole number from 0 to 100`,
        });
        broken = true;
        return;
      }
      backends.push({ id, name, weight: reading.value, path: tp });
    });
    if (broken || backends.length === 0) return;
    const name = typeof route.name === 'string' && route.name !== '' ? route.name : undefined;
    found.add({ list: 'routes', index: i, name, path, backends });
  });
  return { splits, errors };
}
