/**
 * Each root's stable backend: the one that last held all of its untargeted traffic, or on CREATE
 * its strict majority. /mutate records it in `meshwarden.io/stable-backends` (JSON, keyed by root)
 * and carries it on every UPDATE; the validator reads it from the old object only.
 */
import type { FlowObject } from './model.js';
import type { FlowMemo } from './memo.js';
import { commonBackend } from './judge.js';
import { containingRoot } from './roots.js';

/** The annotation's map, or undefined when it is absent or not a JSON object of strings. */
export function parseStable(text: string | undefined): Map<string, string> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const out = new Map<string, string>();
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== 'string') return undefined;
      out.set(k, v);
    }
    return out;
  } catch {
    return undefined;
  }
}

/**
 * Stable text: keys sorted, so the same map always gives the same annotation. An empty map is
 * `{}`, not nothing: a root left out of a record has no stable backend, while an object with no
 * record at all falls back to its majorities (see stableBefore).
 */
export function formatStable(map: ReadonlyMap<string, string>): string {
  const sorted = map.size <= 1 ? map : [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Written directly: an object built from the entries (and then serialized) cost five times
  // more. Keys that look like array indexes would be reordered in such an object; keep that.
  let text = '{';
  for (const [key, value] of sorted) {
    if (ARRAY_INDEX.test(key)) return JSON.stringify(Object.fromEntries(sorted));
    text += `${text.length > 1 ? ',' : ''}${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  return `${text}}`;
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/**
 * The stable backend of each root of the old object: as recorded, else (an object that never
 * passed /mutate) its strict-majority backend.
 */
export function stableBefore(
  old: FlowObject,
  recorded: ReadonlyMap<string, string> | undefined,
  memo?: FlowMemo,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const root of old.roots) {
    // A record without this root means it had none; only an object never recorded falls back.
    const id = recorded ? recorded.get(root.key) : commonBackend(old, root, 'majority', memo);
    if (id !== undefined) out.set(root.key, id);
  }
  return out;
}

/** What /mutate records for the new object: a backend at 100% becomes stable, others carry on. */
export function stableAfter(
  old: FlowObject | undefined,
  before: ReadonlyMap<string, string>,
  next: FlowObject,
  memo?: FlowMemo,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const root of next.roots) {
    const full = commonBackend(next, root, 'all', memo);
    if (full !== undefined) {
      out.set(root.key, full);
      continue;
    }
    if (!old) {
      const majority = commonBackend(next, root, 'majority', memo);
      if (majority !== undefined) out.set(root.key, majority);
      continue;
    }
    const previous = containingRoot(old.roots, root);
    const carried = previous ? before.get(previous.key) : undefined;
    if (carried !== undefined) out.set(root.key, carried);
  }
  return out;
}
