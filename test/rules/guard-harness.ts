/** Runs objects through the engine as the API server would: /mutate, then /validate the result. */
import { expect } from 'vitest';
import { decodeAdmissionReview } from '../../src/admission/decode.js';
import { AdmissionEngine } from '../../src/admission/engine.js';
import { resolveSpec } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import type { PolicySpecInput } from '../../src/policy/types.js';
import { defaultRules } from '../../src/rules/index.js';
import { contractProblems } from '../helpers/contract.js';
import { makeReview } from '../helpers/reviews.js';

export const NOW = new Date('2026-11-21T12:00:00Z');
export type Obj = Record<string, unknown>;
export type User = { username?: string; groups?: string[] };
export const DEV: User = { username: 'dev', groups: ['devs'] };

export function guardEngine(policy: PolicySpecInput = {}): AdmissionEngine {
  return new AdmissionEngine({
    rules: defaultRules(),
    policy: new PolicyStore(resolveSpec(policy)),
    clock: () => NOW,
  });
}

export interface Admitted {
  readonly allowed: boolean;
  readonly message: string;
  readonly warnings: readonly string[];
  readonly audit: string;
  /** Why a rule let the object through (`passed` reasons), joined. */
  readonly passed: string;
  /** The object as stored when allowed (after /mutate). */
  readonly stored: Obj;
}

async function run(
  e: AdmissionEngine,
  endpoint: 'mutate' | 'validate',
  object: Obj,
  oldObject: Obj | undefined,
  user: User,
) {
  const review = makeReview({ object, ...(oldObject ? { oldObject } : {}), user });
  const decoded = decodeAdmissionReview(review);
  if (!decoded.ok) throw new Error(decoded.message);
  const outcome = await e.review(decoded.review, endpoint);
  expect(contractProblems(review, outcome.review, endpoint)).toEqual([]);
  return outcome;
}

/** /validate alone: as when the mutating webhook (failurePolicy Ignore) was skipped. */
export async function validateOnly(
  e: AdmissionEngine,
  object: Obj,
  oldObject?: Obj,
  user: User = DEV,
): Promise<Admitted> {
  const v = await run(e, 'validate', object, oldObject, user);
  const r = v.review.response!;
  return {
    allowed: r.allowed,
    message: r.status?.message ?? '',
    warnings: r.warnings ?? [],
    audit: Object.values(r.auditAnnotations ?? {}).join('; '),
    passed: (v.passed ?? []).map((p) => p.reason).join('; '),
    stored: object,
  };
}

export async function admit(
  e: AdmissionEngine,
  object: Obj,
  oldObject?: Obj,
  user: User = DEV,
): Promise<Admitted> {
  const m = await run(e, 'mutate', object, oldObject, user);
  const mutated = m.object ?? object;
  const v = await validateOnly(e, mutated, oldObject, user);
  return { ...v, warnings: [...(m.review.response?.warnings ?? []), ...v.warnings] };
}

/**
 * Applies each object in turn as an UPDATE of the last one stored (the first as a CREATE), so the
 * annotations /mutate records carry on. Returns the last stored object; fails on any denial.
 */
export async function applyAll(
  e: AdmissionEngine,
  objects: readonly Obj[],
  user: User = DEV,
): Promise<Obj> {
  let stored: Obj | undefined;
  for (const [i, o] of objects.entries()) {
    const r = await admit(e, structuredClone(o), stored, user);
    expect(r.allowed, `step ${i}: ${r.message}`).toBe(true);
    stored = r.stored;
  }
  return stored!;
}

/** The object with `meta` merged into its metadata. */
export function withMeta(o: Obj, meta: Record<string, unknown>): Obj {
  const copy = structuredClone(o);
  copy.metadata = { ...(copy.metadata as Obj), ...meta };
  return copy;
}

export function annotations(o: Obj): Record<string, string> {
  return ((o.metadata as Obj | undefined)?.annotations ?? {}) as Record<string, string>;
}
