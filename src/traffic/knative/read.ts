import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord } from '../../util/objects.js';
import type { LocatedError, SplitBackend } from '../model.js';
import { describe, wholeNumber } from '../numbers.js';
import { distinctNames, sourceOf, type ReaderOptions, type ReaderOutput } from '../read-common.js';
import { knativeTarget } from './target.js';

/**
 * Reads a Knative Serving (serving.knative.dev/v1) Service or Route: `spec.traffic` is one split
 * by `percent` between revisions (`revisionName`) and the latest revision of a configuration
 * (`latestRevision: true`, `configurationName`). A Service without `spec.traffic` sends all of it
 * to its latest revision, as Knative defaults it.
 */
export function readKnativeTraffic(object: KubeObject, options: ReaderOptions = {}): ReaderOutput {
  const source = sourceOf(object, options);
  const errors: LocatedError[] = [];
  const spec = asRecord(object.spec);
  const raw = spec?.traffic;
  const entries = asArray(raw);
  if (raw === undefined || raw === null || (entries && entries.length === 0)) {
    if (source.kind !== 'Service') return { splits: [], errors };
    const backend = {
      id: `latest:${source.name}`,
      name: `the latest revision of ${source.name}`,
      weight: 100n,
      path: 'spec',
    };
    return { splits: [split(source, [backend], 'spec')], errors };
  }
  if (!entries) {
    return {
      splits: [],
      errors: [
        {
          path: 'spec.traffic',
          message: `is ${describe(raw)}: expected a list of traffic targets`,
        },
      ],
    };
  }
  const backends: SplitBackend[] = [];
  let broken = false;
  entries.forEach((item, i) => {
    const path = `spec.traffic[${i}]`;
    const t = asRecord(item);
    const target = knativeTarget(t, source.kind === 'Service' ? source.name : undefined);
    if (!t || !target) {
      errors.push({
        path,
        message: 'names no revisionName, configurationName or latestRevision: true',
      });
      broken = true;
      return;
    }
    let weight = 0n;
    if (t.percent !== undefined && t.percent !== null) {
      const reading = wholeNumber(t.percent);
      if (!reading.ok) {
        errors.push({
          path: `${path}.percent`,
          message: `target ${target.name} has percent ${reading.reason}: set a whole number from 0 to 100`,
        });
        broken = true;
        return;
      }
      weight = reading.value;
    }
    backends.push({ ...target, weight, path });
  });
  if (broken || backends.length === 0) return { splits: [], errors };
  return { splits: [split(source, distinctNames(backends), 'spec.traffic')], errors };
}

function split(source: ReturnType<typeof sourceOf>, backends: SplitBackend[], path: string) {
  return {
    key: 'traffic',
    label: 'traffic',
    path,
    namespace: source.namespace,
    rootService: source.name,
    backends,
    source,
  };
}
