/** The traffic of a Consul ServiceSplitter: one root (the service it is named after), one class. */
import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord } from '../../util/objects.js';
import type { LocatedError, WeightedSplit } from '../../traffic/model.js';
import {
  errorWithin,
  EVERYTHING,
  finish,
  splitAt,
  unreadable,
  type PendingOutcome,
  type RawBackend,
} from '../../traffic/flow/build.js';
import type { FlowObject } from '../../traffic/flow/model.js';

export function consulFlow(
  object: KubeObject,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
): FlowObject {
  const name = object.metadata?.name ?? '';
  const root = `Consul service ${namespace}/${name}`;
  const list = asArray(asRecord(object.spec)?.splits) ?? [];
  const error = errorWithin(errors, 'spec.splits') ?? errorWithin(errors, 'spec');
  const read = splitAt(splits, 'spec.splits');
  let outcome: PendingOutcome;
  if (error) outcome = unreadable(error);
  else if (!read) outcome = { kind: 'unreadable', reason: 'spec.splits could not be read' };
  else {
    const backends: RawBackend[] = [];
    list.forEach((item, i) => {
      const s = asRecord(item) ?? {};
      const b = read.get(`spec.splits[${i}]`, i);
      if (!b) return;
      const text = (k: string) => (typeof s[k] === 'string' && s[k] !== '' ? s[k] : undefined);
      const subset = text('serviceSubset');
      backends.push({
        base: `${text('partition') ?? ''}/${text('namespace') ?? namespace}/${text('service') ?? name}`,
        ...(subset === undefined ? {} : { subset }),
        weight: b.weight,
        name: b.name,
      });
    });
    outcome = { kind: 'backends', backends };
  }
  return finish(
    [{ key: root, label: root, base: root }],
    [
      {
        key: 'splits',
        label: 'splits',
        path: 'spec.splits',
        protocol: 'http',
        alternatives: EVERYTHING,
        outcome,
      },
    ],
    'first-match',
    errors,
  );
}
