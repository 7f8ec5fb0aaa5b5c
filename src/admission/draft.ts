import { cloneJson, setOwn } from '../util/json.js';

/**
 * The copy mutators change, made lazily. A nested object is copied when a mutator first reads
 * it; until then it is an accessor property that would copy it. Arrays are copied whole on first
 * read. `finishDraft` then puts the untouched originals back, so the result shares every subtree
 * no mutator touched with the object as received, and the diff skips those by reference.
 *
 * For a marker added to a 6 KB Deployment this copies five small objects instead of ~300, and
 * the diff walks one path instead of the whole object; for a 1 MB object it saves milliseconds.
 * Mutators see an ordinary object (reads, writes, deletes, spreads, JSON.stringify and
 * structuredClone all behave as on a deep copy); only property descriptors of fields not yet
 * read show accessors.
 */

type JsonObject = Record<string, unknown>;

/**
 * Set while `finishDraft` runs (synchronously): an accessor then hands back its original instead
 * of copying it, so no map from drafts to originals is needed.
 */
let finishing = false;

/** Where a draft object keeps the original it copies (not enumerable, so not in JSON). */
const ORIGINAL = Symbol('original');
type Draft = JsonObject & { [ORIGINAL]: JsonObject };

/**
 * Accessors shared by every draft, one pair per key name: V8 gives objects whose accessors are
 * the same functions the same hidden class, where a closure per property gave each draft object
 * classes of its own (and garbage collection paid for them). Capped: keys come from requests.
 */
const accessors = new Map<string, PropertyDescriptor>();
const MAX_SHARED_ACCESSORS = 4096;

function accessorFor(key: string): PropertyDescriptor {
  const cached = accessors.get(key);
  if (cached !== undefined) return cached;
  const descriptor: PropertyDescriptor = {
    enumerable: true,
    configurable: true,
    get(this: Draft) {
      const value = this[ORIGINAL][key];
      if (finishing) return value;
      const copy = draftOf(value);
      dataProperty(this, key, copy);
      return copy;
    },
    set(this: Draft, next: unknown) {
      dataProperty(this, key, next);
    },
  };
  if (accessors.size < MAX_SHARED_ACCESSORS) accessors.set(key, descriptor);
  return descriptor;
}

function dataProperty(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

function draftOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Array.isArray(value) ? cloneJson(value) : draftObject(value as JsonObject);
}

function draftObject(original: JsonObject): JsonObject {
  const draft = {} as Draft;
  Object.defineProperty(draft, ORIGINAL, { value: original });
  for (const key of Object.keys(original)) {
    const value = original[key];
    if (value === undefined) continue;
    if (typeof value !== 'object' || value === null) setOwn(draft, key, value);
    else Object.defineProperty(draft, key, accessorFor(key));
  }
  return draft;
}

/** A lazily copied draft of `original`, for mutators to change in place. */
export function createDraft<T extends object>(original: T): T {
  return draftOf(original) as T;
}

/**
 * Turns a draft into plain JSON: fields never read take the original value (shared, not
 * copied). Changes the draft in place and returns it.
 */
export function finishDraft<T>(draft: T): T {
  finishing = true;
  try {
    finish(draft);
  } finally {
    finishing = false;
  }
  return draft;
}

function finish(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) finish(item);
    return;
  }
  const object = value as JsonObject;
  for (const key of Object.keys(object)) {
    const descriptor = Object.getOwnPropertyDescriptor(object, key);
    // Never read: the getter hands back the original subtree, as received, uncopied.
    if (descriptor?.get !== undefined) dataProperty(object, key, object[key]);
    else finish(descriptor?.value);
  }
}
