import { applyPatch, createPatch } from 'rfc6902';
import { decodeAdmissionReview } from '../src/admission/decode.js';
import { AdmissionEngine } from '../src/admission/engine.js';
import type { Mutator } from '../src/admission/rule.js';
import { PolicyStore } from '../src/policy/store.js';
import { defaultRules } from '../src/rules/index.js';
import { ensureRecord } from '../src/util/objects.js';
import { median, round } from './stats.js';

/**
 * The mutate path inside the engine (clone, mutators, diff, patch check) with a stand-in for the
 * sidecar-marker mutator, next to the approach it replaced (structuredClone, rfc6902 createPatch,
 * structuredClone + applyPatch to verify). In-process, no HTTP: it shows what the HTTP table will
 * pay once the mutating rules are registered.
 */
export const standInMarker: Mutator = {
  name: 'stand-in-marker',
  kinds: [{ group: 'apps', kind: 'Deployment' }],
  operations: ['CREATE', 'UPDATE'],
  mutate(draft) {
    const template = ensureRecord(ensureRecord(draft, 'spec'), 'template');
    ensureRecord(ensureRecord(template, 'metadata'), 'labels')['sidecar.istio.io/inject'] = 'true';
  },
};

export interface EngineRow {
  readonly label: string;
  readonly bytes: number;
  /** Median microseconds for one mutate review through the engine (stand-in marker). */
  readonly engineUs: number;
  /** Median microseconds for the clone, diff and check as they were done before. */
  readonly previousUs: number | 'stack overflow';
}

async function medianUs(fn: () => unknown, minRuns: number, seconds: number): Promise<number> {
  const samples: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (samples.length < minRuns || performance.now() < until) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
    if (samples.length > 20_000) break;
  }
  return round(median(samples), 1);
}

export async function engineCosts(
  reviews: readonly { label: string; body: Buffer }[],
  quick: boolean,
): Promise<EngineRow[]> {
  const engine = new AdmissionEngine({
    rules: { mutators: [...defaultRules().mutators, standInMarker], validators: [] },
    policy: new PolicyStore(),
  });
  const rows: EngineRow[] = [];
  for (const { label, body } of reviews) {
    const decoded = decodeAdmissionReview(JSON.parse(body.toString('utf8')));
    if (!decoded.ok) throw new Error(decoded.message);
    const review = decoded.review;
    const object = review.request.object!;
    const runs = body.length > 512 * 1024 ? 5 : 200;
    const seconds = quick ? 0.3 : 1;
    await medianUs(() => engine.review(review, 'mutate', { timeoutMs: 8000 }), runs, 0.2);
    const engineUs = await medianUs(
      () => engine.review(review, 'mutate', { timeoutMs: 8000 }),
      runs,
      seconds,
    );
    let previousUs: number | 'stack overflow';
    try {
      previousUs = await medianUs(
        () => {
          const draft = structuredClone(object);
          void standInMarker.mutate(draft, undefined as never);
          const patch = createPatch(object, draft);
          applyPatch(structuredClone(object), patch);
        },
        runs,
        seconds,
      );
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      previousUs = 'stack overflow';
    }
    rows.push({ label, bytes: body.length, engineUs, previousUs });
  }
  return rows;
}
