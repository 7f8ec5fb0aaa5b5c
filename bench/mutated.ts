import { decodeAdmissionReview } from '../src/admission/decode.js';
import { AdmissionEngine } from '../src/admission/engine.js';
import { PolicyStore } from '../src/policy/store.js';
import { defaultRules } from '../src/rules/index.js';

type Json = Record<string, unknown>;

const engine = new AdmissionEngine({ rules: defaultRules(), policy: new PolicyStore() });

/**
 * The review as /validate receives it after /mutate: the API server calls the mutating webhook
 * first and validates the object it patched (weight-change stamp and stable backends recorded,
 * the stamp as of now). Without this a route update would be measured on its denial path.
 */
export async function asMutated(review: Json): Promise<Buffer> {
  const decoded = decodeAdmissionReview(review);
  if (!decoded.ok) throw new Error(decoded.message);
  const outcome = await engine.review(decoded.review, 'mutate');
  const request = review.request as Json;
  return Buffer.from(
    JSON.stringify({ ...review, request: { ...request, object: outcome.object } }),
  );
}
