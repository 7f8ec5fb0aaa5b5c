import { cloneJson, setOwn } from '../util/json.js';

/**
 * The copy mutators change, made lazily. A nested object is copied when a mutator first reads
 * it; until then it is an accessor property that would copy it. Arrays are copied whole on first
 * read. `finishDraft` then builds plain objects from the drafts, taking the untouched originals
 * back, so the result shares every subtree no mutator touched with the object as received, and
 * the diff skips those by reference.
 *
 * For a marker added to a 6 KB Deployment this copies five small objects instead of ~300, and
 * the diff walks one path instead of the whole object; for a 1 MB object it saves milliseconds.
 * Mutators see an ordinary object (reads, writes, deletes, spreads, JSON.stringify and
 * structuredClone all behave as on a deep copy); only property descriptors of object fields
 * show accessors.
 */

type JsonObject = Record<string, unknown>;

/**
 * Set while `finishDraft` runs (synchronously): an accessor then hands back what it holds, or
 * its original, instead of copying it.
 */
let finishing = false;

/** What a draft object keeps beside its fields (not enumerable, so not in JSON or spreads). */
interface DraftState {
  readonly original: JsonObject;
  /** Fields read (their copies) or assigned through an accessor, by key. */
  held: JsonObject | undefined;
}
const STATE = Symbol('draft');
type Draft = JsonObject & { [STATE]: DraftState };

/**
 * Accessors shared by every draft, one pair per key name: V8 gives objects whose accessors are
 * the same functions the same hidden class, where a closure per property gave each draft object
 * classes of its own (and garbage collection paid for them). A read or a write keeps its value in
 * the draft's state rather than redefining the property (redefining was most of the draft's
 * cost). Capped: keys come from requests.
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
      const state = this[STATE];
      const held = state.held;
      if (held !== undefined && Object.hasOwn(held, key)) return held[key];
      const value = state.original[key];
      if (finishing) return value;
      const copy = draftOf(value);
      setOwn((state.held ??= Object.create(null) as JsonObject), key, copy);
      return copy;
    },
    set(this: Draft, next: unknown) {
      const state = this[STATE];
      setOwn((state.held ??= Object.create(null) as JsonObject), key, next);
    },
  };
  if (accessors.size < MAX_SHARED_ACCESSORS) accessors.set(key, descriptor);
  return descriptor;
}

function draftOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Array.isArray(value) ? cloneJson(value) : draftObject(value as JsonObject);
}

function draftObject(original: JsonObject): JsonObject {
  const draft = {} as Draft;
  Object.defineProperty(draft, STATE, { value: { original, held: undefined } });
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
 * The draft as plain JSON: fields never read take the original value (shared, not copied).
 * Returns new objects for the drafts, and changes plain objects and arrays mutators put in
 * (nothing of the object as received) in place.
 */
export function finishDraft<T>(draft: T): T {
  finishing = true;
  try {
    return finish(draft) as T;
  } finally {
    finishing = false;
  }
}

function finish(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = finish(value[i]);
    return value;
  }
  const object = value as Draft;
  const state = object[STATE] as DraftState | undefined;
  if (state === undefined) {
    for (const key of Object.keys(object)) {
      const item = object[key];
      const done = finish(item);
      if (done !== item) setOwn(object, key, done);
    }
    return object;
  }
  const out: JsonObject = {};
  for (const key of Object.keys(object)) {
    const item = object[key];
    // Never read: the accessor hands back the original subtree, as received, uncopied.
    setOwn(out, key, item === state.original[key] ? item : finish(item));
  }
  return out;
}
