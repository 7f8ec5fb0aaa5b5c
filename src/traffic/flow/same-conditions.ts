/** Whether two flow objects route on the same conditions: what probe parts are built from. */
import type { Condition, FlowObject } from './model.js';

/** The two objects' routes have the same protocols and conditions, in order (what `partsOf` reads). */
export function sameConditions(a: FlowObject, b: FlowObject): boolean {
  if (a.routes.length !== b.routes.length || !sameList(a.protocols, b.protocols)) return false;
  for (let i = 0; i < a.routes.length; i++) {
    const ra = a.routes[i]!;
    const rb = b.routes[i]!;
    if (ra.protocol !== rb.protocol) return false;
    if (ra.alternatives === rb.alternatives) continue;
    if (ra.alternatives.length !== rb.alternatives.length) return false;
    for (let j = 0; j < ra.alternatives.length; j++) {
      const altA = ra.alternatives[j]!;
      const altB = rb.alternatives[j]!;
      if (altA === altB) continue;
      if (altA.length !== altB.length) return false;
      for (let k = 0; k < altA.length; k++) if (!sameCondition(altA[k]!, altB[k]!)) return false;
    }
  }
  return true;
}

function sameCondition(a: Condition, b: Condition): boolean {
  switch (a.kind) {
    case 'path':
      return (
        b.kind === 'path' && a.op === b.op && a.value === b.value && a.ignoreCase === b.ignoreCase
      );
    case 'method':
    case 'gateway':
      return b.kind === a.kind && sameList(a.values, b.values);
    case 'header':
    case 'query':
    case 'cookie':
      return (
        b.kind === a.kind &&
        a.name === b.name &&
        a.op === b.op &&
        a.value === b.value &&
        a.negated === b.negated
      );
    case 'port':
      return b.kind === 'port' && a.port === b.port;
    case 'opaque':
      return b.kind === 'opaque' && a.key === b.key && a.text === b.text;
  }
}

function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
