import type { KindRef, Mutator, Validator } from './rule.js';
import type { AdmissionRequest } from './types.js';

/** Rules indexed by group/kind once, so dispatch is a map lookup per review. */
export class RuleIndex<R extends Mutator | Validator> {
  readonly #byKind = new Map<string, R[]>();

  constructor(rules: readonly R[]) {
    for (const rule of rules) {
      for (const kind of rule.kinds) {
        const key = `${kind.group}/${kind.kind}`;
        const list = this.#byKind.get(key) ?? [];
        if (!list.includes(rule)) list.push(rule);
        this.#byKind.set(key, list);
      }
    }
  }

  /** Does any rule look at this kind? Cheap; used to skip work early. */
  handles(group: string, kind: string): boolean {
    return this.#byKind.has(`${group}/${kind}`);
  }

  /**
   * The rules that judge this request, in order. Subresources are never judged; in an excluded
   * namespace only the rules that ignore exclusions run.
   */
  applicable(request: AdmissionRequest, excluded: boolean): R[] {
    if (request.subResource !== undefined) return [];
    const candidates = this.#byKind.get(`${request.kind.group}/${request.kind.kind}`);
    if (!candidates) return [];
    return candidates.filter(
      (r) =>
        r.operations.includes(request.operation) &&
        (!excluded || r.ignoresExclusions === true) &&
        versionMatches(r.kinds, request),
    );
  }
}

function versionMatches(kinds: readonly KindRef[], request: AdmissionRequest): boolean {
  return kinds.some(
    (k) =>
      k.group === request.kind.group &&
      k.kind === request.kind.kind &&
      (k.versions === undefined || k.versions.includes(request.kind.version)),
  );
}
