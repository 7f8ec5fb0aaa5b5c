import { applyPatch, createPatch, type Operation as PatchOperation } from 'rfc6902';
import type { KubeObject } from './types.js';

export type JsonPatch = PatchOperation[];

export type PatchResult =
  | { readonly ok: true; readonly patch: JsonPatch }
  | { readonly ok: false; readonly patch: JsonPatch; readonly error: string };

/**
 * Diffs the object as received against the mutated copy and proves the patch applies to the
 * object as received. The API server turns a decodable patch that fails to apply into a 500 even
 * under failurePolicy Ignore, so an unverified patch is never sent.
 */
export function diffAndVerify(original: KubeObject, mutated: KubeObject): PatchResult {
  const patch = createPatch(original, mutated);
  if (patch.length === 0) return { ok: true, patch };
  const target = structuredClone(original);
  const errors = applyPatch(target, patch);
  const failed = errors.find((e) => e !== null);
  if (failed) return { ok: false, patch, error: failed.message };
  return { ok: true, patch };
}

export function encodePatch(patch: JsonPatch): string {
  return Buffer.from(JSON.stringify(patch)).toString('base64');
}
