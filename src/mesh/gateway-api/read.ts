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

/** Gateway API: a backendRef without weight counts 1. */
const DEFAULT_WEIGHT = 1n;

/**
 * Reads a `gateway.networking.k8s.io` HTTPRoute (v1, v1beta1): each rule with backendRefs is a
 * split, keyed by the rule's name when it has one.
 */
export function readHttpRoute(object: KubeObject, options: ReaderOptions = {}): ReaderOutput {
  const source = sourceOf(object, options);
  const errors: LocatedError[] = [];
  const found = new RouteSplits(source);
  const { splits } = found;
  const spec = asRecord(object.spec);
  if (!spec) {
    return {
      splits,
      errors: [{ path: 'spec', message: 'is missing: a route needs spec.rules' }],
    };
  }
  const root = rootOf(spec, source.name);
  const rules = spec.rules;
  if (rules === undefined || rules === null) return { splits, errors };
  const list = asArray(rules);
  if (!list) {
    return {
      splits,
      errors: [{ path: 'spec.rules', message: `is ${describe(rules)}: expected a list of rules` }],
    };
  }
  list.forEach((item, i) => {
    const path = `spec.rules[${i}]`;
    const rule = asRecord(item);
    if (!rule) {
      errors.push({ path, message: `is ${describe(item)}: expected a rule` });
      return;
    }
    if (rule.backendRefs === undefined || rule.backendRefs === null) return;
    const refs = asArray(rule.backendRefs);
    if (!refs) {
      errors.push({
        path: `${path}.backendRefs`,
        message: `is ${describe(rule.backendRefs)}: expected a list`,
      });
      return;
    }
    const backends: SplitBackend[] = [];
    let broken = false;
    refs.forEach((refItem, j) => {
      const at = `${path}.backendRefs[${j}]`;
      const ref = asRecord(refItem);
      if (!ref || typeof ref.name !== 'string' || ref.name === '') {
        errors.push({
          path: `${at}.name`,
          message: 'is missing: each backendRef names its backend',
        });
        broken = true;
        return;
      }
      let weight = DEFAULT_WEIGHT;
      if (ref.weight !== undefined && ref.weight !== null) {
        const reading = wholeNumber(ref.weight);
        if (!reading.ok) {
          errors.push({
            path: `${at}.weight`,
            message: `backend ${ref.name} has weight ${reading.reason}: set a whole number from 0 to 1000000`,
          });
          broken = true;
          return;
        }
        weight = reading.value;
      }
      const group = typeof ref.group === 'string' ? ref.group : '';
      const kind = typeof ref.kind === 'string' ? ref.kind : 'Service';
      const namespace = typeof ref.namespace === 'string' ? ref.namespace : source.namespace;
      const port = typeof ref.port === 'number' ? `:${ref.port}` : '';
      const qualified = group === '' && kind === 'Service' ? '' : `${kind}.${group}/`;
      backends.push({
        id: `${qualified}${namespace}/${ref.name}${port}`,
        name: `${qualified}${namespace === source.namespace ? '' : `${namespace}/`}${ref.name}`,
        weight,
        path: at,
      });
    });
    if (broken || backends.length === 0) return;
    const name = typeof rule.name === 'string' ? rule.name : undefined;
    found.add({ list: 'rules', index: i, name, path, backends, rootService: root });
  });
  return { splits, errors };
}

/** The Service a mesh (GAMMA) route attaches to, else the route's own name. */
function rootOf(spec: Record<string, unknown>, fallback: string): string {
  for (const item of asArray(spec.parentRefs) ?? []) {
    const ref = asRecord(item);
    const group = ref?.group;
    if (
      ref?.kind === 'Service' &&
      (group === '' || group === 'core') &&
      typeof ref.name === 'string'
    )
      return ref.name;
  }
  return fallback;
}
