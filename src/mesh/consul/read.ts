import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord } from '../../util/objects.js';
import type { LocatedError, SplitBackend } from '../../traffic/model.js';
import { decimalNumber, describe } from '../../traffic/numbers.js';
import {
  distinctNames,
  sourceOf,
  type ReaderOptions,
  type ReaderOutput,
} from '../../traffic/read-common.js';

/**
 * Reads a `consul.hashicorp.com/v1alpha1` ServiceSplitter: one split of the service it is named
 * after. Percentages are kept exactly as written (`33.33` and `66.67` become 3333 and 6667), so
 * shares come out exact; a split without weight weighs 0, as in Consul.
 */
export function readConsulServiceSplitter(
  object: KubeObject,
  options: ReaderOptions = {},
): ReaderOutput {
  const source = sourceOf(object, options);
  const errors: LocatedError[] = [];
  const spec = asRecord(object.spec);
  const list = asArray(spec?.splits);
  if (!list || list.length === 0) {
    return {
      splits: [],
      errors: [
        {
          path: spec ? 'spec.splits' : 'spec',
          message: `is ${list ? 'empty' : 'missing'}: a ServiceSplitter needs splits with weights summing to 100`,
        },
      ],
    };
  }
  const read: { id: string; name: string; digits: bigint; scale: number; path: string }[] = [];
  let broken = false;
  list.forEach((item, i) => {
    const path = `spec.splits[${i}]`;
    const split = asRecord(item);
    if (!split) {
      errors.push({
        path,
        message: `is ${describe(item)}: expected {weight, service, serviceSubset}`,
      });
      broken = true;
      return;
    }
    const text = (key: string): string => (typeof split[key] === 'string' ? split[key] : '');
    const service = text('service') || source.name;
    const subset = text('serviceSubset');
    const namespace = text('namespace');
    const partition = text('partition');
    const name = `${service}${subset === '' ? '' : ` (subset ${subset})`}`;
    let digits = 0n;
    let scale = 0;
    if (split.weight !== undefined && split.weight !== null) {
      const reading = decimalNumber(split.weight);
      if (!reading.ok) {
        errors.push({
          path: `${path}.weight`,
          message: `split ${name} has weight ${reading.reason}: set a percentage from 0 to 100`,
        });
        broken = true;
        return;
      }
      ({ digits, scale } = reading);
    }
    read.push({
      id: [partition, namespace, service, subset].join('/'),
      name: namespace === '' ? name : `${namespace}/${name}`,
      digits,
      scale,
      path,
    });
  });
  if (broken) return { splits: [], errors };
  const scale = Math.max(0, ...read.map((r) => r.scale));
  const backends: SplitBackend[] = read.map((r) => ({
    id: r.id,
    name: r.name,
    weight: r.digits * 10n ** BigInt(scale - r.scale),
    path: r.path,
  }));
  return {
    splits: [
      {
        key: 'splits',
        label: 'splits',
        path: 'spec.splits',
        namespace: source.namespace,
        rootService: source.name,
        backends: distinctNames(backends),
        source,
      },
    ],
    errors,
  };
}
