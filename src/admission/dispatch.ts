import { kindNotChecked } from './coverage.js';
import type { KindRef, Mutator, RuleContext, SkippedKind, Validator } from './rule.js';
import type { AdmissionRequest } from './types.js';

/** Rules indexed by group/kind once, so dispatch is a map lookup per review. */
export class RuleIndex<R extends Mutator | Validator> {
  /** By group, then kind: a look-up builds no `group/kind` string per review. */
  readonly #byKind = new Map<string, Map<string, R[]>>();

  constructor(rules: readonly R[]) {
    for (const rule of rules) {
      for (const kind of rule.kinds) {
        let kinds = this.#byKind.get(kind.group);
        if (kinds === undefined) this.#byKind.set(kind.group, (kinds = new Map<string, R[]>()));
        const list = kinds.get(kind.kind) ?? [];
        if (!list.includes(rule)) list.push(rule);
        kinds.set(kind.kind, list);
      }
    }
  }

  /** Every group and kind some rule looks at. */
  *kinds(): Iterable<{ readonly group: string; readonly kind: string }> {
    for (const [group, kinds] of this.#byKind)
      for (const kind of kinds.keys()) yield { group, kind };
  }

  /** Does any rule look at this kind? Cheap; used to skip work early. */
  handles(group: string, kind: string): boolean {
    return this.#byKind.get(group)?.has(kind) === true;
  }

  /**
   * The rules that judge this request, in order, or why none does (for `skipped`). Subresources
   * are judged only by rules that name them; in an excluded namespace only the rules that ignore exclusions run; a rule
   * may skip a review for its own reason (a mesh control-plane namespace).
   */
  applicable(
    request: AdmissionRequest,
    ctx: RuleContext,
    excluded: string | undefined,
    skippedKinds: readonly SkippedKind[],
  ): { readonly rules: R[]; readonly skipped?: string } {
    const sub = request.subResource;
    const candidates = this.#byKind.get(request.kind.group)?.get(request.kind.kind) ?? [];
    const matching = candidates.filter(
      (r) =>
        (sub === undefined || r.subResources?.includes(sub) === true) &&
        r.operations.includes(request.operation) &&
        versionMatches(r.kinds, request),
    );
    if (sub !== undefined && matching.length === 0)
      return { rules: [], skipped: `subresource ${sub} not checked` };
    if (matching.length === 0)
      return { rules: [], skipped: kindNotChecked(request, candidates, skippedKinds) };
    const rules: R[] = [];
    let skipped = excluded;
    for (const rule of matching) {
      if (excluded !== undefined && rule.ignoresExclusions !== true) continue;
      const reason = rule.skipReason?.(ctx);
      if (reason === undefined) rules.push(rule);
      else skipped ??= reason;
    }
    return rules.length > 0 ? { rules } : { rules, skipped: skipped ?? 'no rule applies' };
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
