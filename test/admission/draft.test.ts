import fc from 'fast-check';
import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { createDraft, finishDraft } from '../../src/admission/draft.js';
import { diffJson } from '../../src/admission/patch.js';
import { cloneJson } from '../../src/util/json.js';

type Json = Record<string, unknown>;

const key = fc.oneof(
  fc.constantFrom('a', 'b', 'labels', 'x/y', '~', '__proto__', '0'),
  fc.string({ maxLength: 4 }),
);
const { value: json } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
}));
// JSON.parse keeps `__proto__` as an own key; build objects the same way.
const object = fc
  .dictionary(key, json, { maxKeys: 5 })
  .map((o) => JSON.parse(JSON.stringify(o)) as Json);

type Step =
  | { op: 'set'; at: number; key: string; value: unknown }
  | { op: 'delete'; at: number; key: number }
  | { op: 'push'; at: number; value: unknown }
  | { op: 'splice'; at: number; index: number }
  | { op: 'move'; at: number; to: number; key: string }
  | { op: 'read'; at: number };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), key, value: json }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), key: fc.nat() }),
  fc.record({ op: fc.constant('push' as const), at: fc.nat(), value: json }),
  fc.record({ op: fc.constant('splice' as const), at: fc.nat(), index: fc.nat() }),
  fc.record({ op: fc.constant('move' as const), at: fc.nat(), to: fc.nat(), key }),
  fc.record({ op: fc.constant('read' as const), at: fc.nat() }),
);

/** Paths to every container in `root`, found by reading (so through a draft's accessors too). */
function containers(root: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (typeof root !== 'object' || root === null) return out;
  out.push(path);
  for (const k of Object.keys(root)) containers((root as Json)[k], [...path, k], out);
  return out;
}
const at = (root: unknown, path: string[]) => path.reduce<unknown>((n, k) => (n as Json)[k], root);
const put = (target: Json, k: string, value: unknown) =>
  Object.defineProperty(target, k, { value, writable: true, enumerable: true, configurable: true });

/** Runs the same steps on a deep copy and on a draft, choosing places from the deep copy. */
function run(original: Json, steps: readonly Step[]) {
  const copy = cloneJson(original);
  const draft = createDraft(original);
  for (const s of steps) {
    const paths = containers(copy);
    const path = paths[s.at % paths.length]!;
    const targets = [at(copy, path), at(draft, path)] as Json[];
    for (const [i, target] of targets.entries()) {
      const root = i === 0 ? copy : draft;
      if (s.op === 'set') {
        if (Array.isArray(target)) target[0] = cloneJson(s.value);
        else put(target, s.key, cloneJson(s.value));
      } else if (s.op === 'delete') {
        const keys = Object.keys(target);
        if (keys.length > 0) {
          if (Array.isArray(target)) target.splice(s.key % keys.length, 1);
          else delete target[keys[s.key % keys.length]!];
        }
      } else if (s.op === 'push') {
        if (Array.isArray(target)) target.push(cloneJson(s.value));
      } else if (s.op === 'splice') {
        if (Array.isArray(target) && target.length > 0) target.splice(s.index % target.length, 1);
      } else if (s.op === 'move') {
        const other = at(root, paths[s.to % paths.length]!);
        // Moving a subtree into itself would make a cycle, which JSON cannot hold.
        if (!Array.isArray(target) && !containers(other).some((p) => at(other, p) === target))
          put(target, s.key, other);
      } else JSON.stringify(target);
    }
  }
  return { copy, draft };
}

describe('createDraft / finishDraft', () => {
  it('ends equal to a deep copy given the same changes, and never changes the original', () => {
    fc.assert(
      fc.property(object, fc.array(step, { maxLength: 6 }), (original, steps) => {
        const before = JSON.stringify(original);
        const { copy, draft } = run(original, steps);
        const done = finishDraft(draft);
        expect(JSON.stringify(done)).toBe(JSON.stringify(copy));
        expect(done).toEqual(copy);
        expect(JSON.stringify(original)).toBe(before);
        // The diff against the original, applied by rfc6902, gives the result (rfc6902 assigns
        // `__proto__` as the prototype rather than a key, so those cases stop here).
        if (JSON.stringify(done).includes('"__proto__"')) return;
        const target = cloneJson(original);
        const errors = applyPatch(target, diffJson(original, done));
        expect(errors.filter((e) => e !== null)).toEqual([]);
        // Key order may differ (a deleted and re-added key moves to the end): compare values.
        expect(target).toEqual(done);
      }),
      { numRuns: 3000 },
    );
  });

  it('shares every subtree no mutator read with the original', () => {
    const original = {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'a' }] } },
      },
      status: { replicas: 1 },
    };
    const draft = createDraft(original);
    (draft.spec.template.metadata.labels as Record<string, string>)['sidecar.istio.io/inject'] =
      'true';
    const done = finishDraft(draft);
    expect(done.status).toBe(original.status);
    expect(done.metadata).toBe(original.metadata);
    expect(done.spec.template.spec).toBe(original.spec.template.spec);
    expect(done.spec.template.metadata).not.toBe(original.spec.template.metadata);
    expect(original.spec.template.metadata.labels).toEqual({ app: 'web' });
    expect(diffJson(original, done)).toEqual([
      { op: 'add', path: '/spec/template/metadata/labels/sidecar.istio.io~1inject', value: 'true' },
    ]);
  });

  it('reads like a deep copy before it is finished', () => {
    fc.assert(
      fc.property(object, (original) => {
        const draft = createDraft(original);
        expect(JSON.stringify(draft)).toBe(JSON.stringify(original));
        expect(structuredClone(draft)).toEqual(original);
        expect({ ...draft }).toEqual({ ...original });
        expect(Object.keys(draft)).toEqual(Object.keys(original));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps identity of what a mutator read, and lets it replace or delete whole fields', () => {
    const original = { metadata: { labels: { a: '1' } }, spec: { x: { y: 1 } } };
    const draft = createDraft(original);
    expect(draft.metadata).toBe(draft.metadata);
    draft.spec = { x: { y: 2 } };
    delete (draft as Partial<typeof draft>).metadata;
    const done = finishDraft(draft);
    expect(done).toEqual({ spec: { x: { y: 2 } } });
    expect(original).toEqual({ metadata: { labels: { a: '1' } }, spec: { x: { y: 1 } } });
  });
});
