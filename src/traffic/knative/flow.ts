/**
 * The traffic of a Knative Service or Route: one root (the Route, which a Service of the same name
 * owns), its main traffic by `percent`, and each `tag` as opt-in traffic (Knative serves a tag on
 * its own URL and, with tag-header routing, on the `Knative-Serving-Tag` header).
 */
import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord } from '../../util/objects.js';
import type { LocatedError, WeightedSplit } from '../model.js';
import { rational } from '../rational.js';
import { knativeTarget } from './target.js';
import {
  errorWithin,
  EVERYTHING,
  finish,
  splitAt,
  unreadable,
  type PendingOutcome,
  type PendingRoute,
} from '../flow/build.js';
import type { FlowObject } from '../flow/model.js';

export function knativeFlow(
  object: KubeObject,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
): FlowObject {
  const name = object.metadata?.name ?? '';
  const root = `Knative route ${namespace}/${name}`;
  const service = object.kind === 'Service' ? name : undefined;
  const split = splits[0];
  const error = errorWithin(errors, 'spec.traffic');
  let outcome: PendingOutcome;
  if (error) outcome = unreadable(error);
  else if (!split) outcome = { kind: 'unreadable', reason: 'spec.traffic could not be read' };
  else
    outcome = {
      kind: 'backends',
      backends: split.backends.map((b) => ({
        base: `${namespace}/${b.id}`,
        weight: b.weight,
        name: b.name,
      })),
    };
  const routes: PendingRoute[] = [];
  const read = split ? splitAt(splits, split.path) : undefined;
  (asArray(asRecord(object.spec)?.traffic) ?? []).forEach((item, i) => {
    const t = asRecord(item);
    const target = knativeTarget(t, service);
    if (!t || !target || typeof t.tag !== 'string' || t.tag === '') return;
    const id = `${namespace}/${target.id}`;
    routes.push({
      key: `tag:${t.tag}`,
      label: `tag "${t.tag}"`,
      path: `spec.traffic[${i}]`,
      protocol: 'http',
      alternatives: [
        [
          {
            kind: 'header',
            name: 'knative-serving-tag',
            op: 'exact',
            value: t.tag,
            negated: false,
          },
        ],
      ],
      outcome: read
        ? { kind: 'shares', shares: new Map([[id, rational(1n, 1n)]]) }
        : { kind: 'unreadable', reason: 'spec.traffic could not be read' },
    });
  });
  routes.push({
    key: 'traffic',
    label: 'traffic',
    path: split?.path ?? 'spec.traffic',
    protocol: 'http',
    alternatives: EVERYTHING,
    outcome,
  });
  const flow = finish([{ key: root, label: root, base: root }], routes, 'first-match', errors);
  // Tag routes name their backend by id; give them the names the main split uses.
  const names = new Map(flow.names);
  for (const b of split?.backends ?? [])
    if (!names.has(`${namespace}/${b.id}`)) names.set(`${namespace}/${b.id}`, b.name);
  return { ...flow, names };
}
