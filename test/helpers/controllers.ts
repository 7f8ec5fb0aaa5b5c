import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { staticClusterView, type StaticClusterFacts } from '../../src/admission/cluster-view.js';
import { decodeAdmissionReview } from '../../src/admission/decode.js';
import { AdmissionEngine, type ReviewOutcome } from '../../src/admission/engine.js';
import type { KubeObject } from '../../src/k8s/objects.js';
import { resolveSpec } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import type { PolicySpecInput } from '../../src/policy/types.js';
import { defaultRules } from '../../src/rules/index.js';
import { makeReview } from './reviews.js';

export const FIXTURES = join(import.meta.dirname, '../fixtures/controllers');

/** Every document of a fixture file, in order. */
export function fixture(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(join(FIXTURES, path), 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

/** The fixture's object of this kind (and name), with what the API server adds. */
export function fixtureObject(
  path: string,
  kind: string,
  extra: { namespace?: string; uid?: string; name?: string } = {},
): KubeObject {
  const found = fixture(path).find(
    (o) => o.kind === kind && (extra.name === undefined || o.metadata?.name === extra.name),
  );
  if (!found) throw new Error(`${path} has no ${kind}`);
  const copy = structuredClone(found);
  copy.metadata = {
    ...copy.metadata,
    namespace: copy.metadata?.namespace ?? extra.namespace ?? 'default',
    ...(extra.uid === undefined ? {} : { uid: extra.uid }),
  };
  return copy;
}

export const sa = (ns: string, name: string) => ({
  username: `system:serviceaccount:${ns}:${name}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
});

export function trustEngine(facts: StaticClusterFacts = {}, policy: PolicySpecInput = {}) {
  return new AdmissionEngine({
    rules: defaultRules(),
    policy: new PolicyStore(resolveSpec(policy)),
    cluster: staticClusterView(facts),
  });
}

/**
 * An UPDATE (or CREATE without `old`) by `user` as the API server admits it: /mutate first, then
 * /validate of the mutated object. Returns the /validate outcome.
 */
export async function validateAs(
  engine: AdmissionEngine,
  object: KubeObject,
  old: KubeObject | undefined,
  user: { username?: string; groups?: string[] },
): Promise<ReviewOutcome> {
  const review = (o: KubeObject) => {
    const decoded = decodeAdmissionReview(
      makeReview({ object: o, ...(old ? { oldObject: old } : {}), user }),
    );
    if (!decoded.ok) throw new Error(decoded.message);
    return decoded.review;
  };
  const mutated = await engine.review(review(object), 'mutate');
  return engine.review(review(mutated.object ?? object), 'validate');
}

export const messageOf = (o: ReviewOutcome) => o.review.response?.status?.message ?? '';
export const warningsOf = (o: ReviewOutcome) => o.review.response?.warnings ?? [];
export const auditOf = (o: ReviewOutcome, rule = 'weight-shift') =>
  o.review.response?.auditAnnotations?.[rule] ?? '';
