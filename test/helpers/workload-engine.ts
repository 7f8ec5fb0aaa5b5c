import { applyPatch, type Operation } from 'rfc6902';
import { expect } from 'vitest';
import { staticClusterView, type StaticClusterFacts } from '../../src/admission/cluster-view.js';
import { decodeAdmissionReview } from '../../src/admission/decode.js';
import { AdmissionEngine, type ReviewOutcome } from '../../src/admission/engine.js';
import { resolveSpec } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import type { PolicySpecInput } from '../../src/policy/types.js';
import { defaultRules } from '../../src/rules/index.js';
import { contractProblems, decodePatch } from './contract.js';

/** An engine with every default rule, a policy built from `spec`, and a fixed cluster view. */
export function workloadEngine(
  spec: PolicySpecInput = {},
  facts: StaticClusterFacts = {},
): AdmissionEngine {
  return new AdmissionEngine({
    rules: defaultRules(),
    policy: new PolicyStore(resolveSpec(spec)),
    cluster: staticClusterView(facts),
  });
}

/** An AdmissionReview body as the API server sends it (what `makeReview` builds, or a fixture). */
export interface ReviewBody {
  apiVersion: string;
  kind?: string;
  request: {
    uid: string;
    object: unknown;
    operation: string;
    [key: string]: unknown;
  };
}

export interface Admission {
  readonly mutate: ReviewOutcome;
  readonly validate: ReviewOutcome;
  /** The RFC 6902 patch /mutate sent (decoded), [] when none. */
  readonly patch: Operation[];
  /** The object as received with that patch applied strictly. */
  readonly patched: Record<string, unknown> | null;
  /** The patch /mutate sends when given the patched object: must be []. */
  readonly secondPatch: Operation[];
  readonly allowed: boolean;
  readonly message: string | undefined;
  readonly warnings: string[];
  readonly auditAnnotations: Record<string, string>;
}

/**
 * Runs a review as the API server would: /mutate, the patch applied to the object as received,
 * then /validate on the patched object, then /mutate once more on the patched object. Every
 * response is checked with the contract checker, and the patch must apply strictly.
 */
export async function admit(engine: AdmissionEngine, body: ReviewBody): Promise<Admission> {
  const decoded = decodeAdmissionReview(body);
  if (!decoded.ok) throw new Error(`test review does not decode: ${decoded.message}`);
  const mutate = await engine.review(decoded.review, 'mutate');
  expect(contractProblems(body, mutate.review, 'mutate')).toEqual([]);
  const patch = decodePatch(mutate.review) as Operation[];
  const received = body.request.object as Record<string, unknown> | null;
  let patched = received;
  if (received !== null) {
    patched = structuredClone(received);
    const errors = applyPatch(patched, patch);
    expect(errors.filter((e) => e !== null)).toEqual([]);
  }
  const patchedBody = { ...body, request: { ...body.request, object: patched } };
  const patchedDecoded = decodeAdmissionReview(patchedBody);
  if (!patchedDecoded.ok)
    throw new Error(`patched review does not decode: ${patchedDecoded.message}`);
  const validate = await engine.review(patchedDecoded.review, 'validate');
  expect(contractProblems(patchedBody, validate.review, 'validate')).toEqual([]);
  const again = await engine.review(patchedDecoded.review, 'mutate');
  expect(contractProblems(patchedBody, again.review, 'mutate')).toEqual([]);
  const response = validate.review.response;
  return {
    mutate,
    validate,
    patch,
    patched,
    secondPatch: decodePatch(again.review) as Operation[],
    allowed: response?.allowed ?? false,
    message: response?.status?.message,
    warnings: [...(mutate.review.response?.warnings ?? []), ...(response?.warnings ?? [])],
    auditAnnotations: {
      ...mutate.review.response?.auditAnnotations,
      ...response?.auditAnnotations,
    },
  };
}

/** Reads `spec.template.metadata.<map>` of a (patched) workload. */
export function templateMeta(
  object: Record<string, unknown> | null,
  map: 'labels' | 'annotations',
): Record<string, unknown> | undefined {
  const spec = object?.spec as { template?: { metadata?: Record<string, unknown> } } | undefined;
  return spec?.template?.metadata?.[map] as Record<string, unknown> | undefined;
}

/** Sets `value` at `path` inside a test object, creating objects on the way. */
export function setIn<T extends object>(object: T, path: readonly string[], value: unknown): T {
  let node = object as Record<string, unknown>;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
  return object;
}

/** Removes the key at `path` inside a test object. */
export function unsetIn<T extends object>(object: T, path: readonly string[]): T {
  let node = object as Record<string, unknown> | undefined;
  for (const key of path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
  if (node) delete node[path[path.length - 1]!];
  return object;
}
