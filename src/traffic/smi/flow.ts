/**
 * The traffic of an SMI TrafficSplit: the root is `spec.service`. With `spec.matches`, requests
 * matching the referenced HTTPRouteGroups go to the backends by weight and the rest to the root
 * Service. The groups' contents are not read, so whether a request matches is an unknown.
 */
import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord } from '../../util/objects.js';
import type { LocatedError, WeightedSplit } from '../model.js';
import { parseServiceRef } from '../service-name.js';
import { rational } from '../rational.js';
import {
  errorWithin,
  finish,
  serviceHost,
  unreadable,
  type PendingOutcome,
  type PendingRoute,
  type RawBackend,
} from '../flow/build.js';
import type { FlowObject } from '../flow/model.js';

export function smiFlow(
  object: KubeObject,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
): FlowObject {
  const spec = asRecord(object.spec) ?? {};
  const parsed = typeof spec.service === 'string' ? parseServiceRef(spec.service) : undefined;
  const rootHost = parsed?.ok
    ? serviceHost(parsed.name, namespace)
    : `TrafficSplit ${namespace}/${object.metadata?.name ?? ''}`;
  const error = errorWithin(errors, 'spec.backends');
  const read = splits.find((s) => s.path === 'spec.backends');
  let outcome: PendingOutcome;
  if (error) outcome = unreadable(error);
  else if (!read) outcome = { kind: 'unreadable', reason: 'spec.backends could not be read' };
  else {
    const backends: RawBackend[] = read.backends.map((b) => ({
      base: serviceHost(b.service ?? b.id, namespace),
      weight: b.weight,
      name: b.name,
    }));
    outcome = { kind: 'backends', backends };
  }
  const refs = (asArray(spec.matches) ?? []).map((m) => asRecord(m)).filter((m) => m !== undefined);
  const routes: PendingRoute[] = [];
  if (refs.length === 0) {
    routes.push({
      key: 'backends',
      label: 'backends',
      path: 'spec.backends',
      protocol: 'http',
      alternatives: [[]],
      outcome,
    });
  } else {
    routes.push({
      key: 'backends',
      label: 'backends (matched requests)',
      path: 'spec.backends',
      protocol: 'http',
      alternatives: refs.map((r) => [
        {
          kind: 'opaque',
          key: `smi:${String(r.kind)}/${String(r.name)}`,
          text: `HTTPRouteGroup ${String(r.name)}`,
        },
      ]),
      outcome,
    });
    // Unmatched requests go to the root Service itself (SMI semantics).
    routes.push({
      key: 'fallback',
      label: 'requests outside spec.matches',
      path: 'spec.matches',
      protocol: 'http',
      alternatives: [[]],
      outcome: { kind: 'shares', shares: new Map([[rootHost, rational(1n, 1n)]]) },
    });
  }
  return finish(
    [{ key: rootHost, label: rootHost, base: rootHost }],
    routes,
    'first-match',
    errors,
  );
}
