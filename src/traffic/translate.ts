import type { KubeObject } from '../admission/types.js';
import type { MeshId } from '../mesh/ids.js';

/** The native routing objects for one TrafficSplit, or why there are none. */
export type TranslationResult =
  | {
      readonly ok: true;
      readonly objects: readonly KubeObject[];
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly error: string };

/**
 * Translates an SMI TrafficSplit (any version) into the native routing objects of `mesh`
 * (CONTRACT §7). Pure: no I/O. Deterministic: the same input gives identical output.
 */
export function translateTrafficSplit(_split: KubeObject, _mesh: MeshId): TranslationResult {
  return { ok: false, error: 'translation is not built yet' };
}
