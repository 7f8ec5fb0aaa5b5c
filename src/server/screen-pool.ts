import { Worker } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import { countWork } from './limits.js';

/** What a worker learnt from a large body, parsed off the event loop. */
export type Screening =
  | { readonly type: 'unparsable'; readonly message: string }
  | { readonly type: 'invalid'; readonly message: string }
  | {
      readonly type: 'screened';
      readonly apiVersion: string;
      readonly uid: string;
      readonly group: string;
      readonly kind: string;
      readonly hasObject: boolean;
      readonly backends: number;
      readonly routes: number;
    };

/**
 * The worker's program. It parses the body, checks the envelope and counts the object's work,
 * and answers with a few numbers: the object itself never crosses back (copying it would cost
 * the event loop as much as parsing it). Self-contained: it runs as source text in the worker.
 */
function screenWorkerMain(count: typeof countWork): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parentPort } = require('node:worker_threads') as typeof WorkerThreads;
  const versions = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  parentPort?.on('message', (job: { id: number; body: Uint8Array; stopAt: number }) => {
    const answer = (result: unknown) => parentPort.postMessage({ id: job.id, result });
    let parsed: unknown;
    try {
      parsed = JSON.parse(
        Buffer.from(job.body.buffer, job.body.byteOffset, job.body.length).toString('utf8'),
      );
    } catch (error) {
      answer({ type: 'unparsable', message: (error as Error).message });
      return;
    }
    if (!isRecord(parsed)) return answer({ type: 'invalid', message: 'body is not a JSON object' });
    if (typeof parsed.apiVersion !== 'string' || !versions.includes(parsed.apiVersion))
      return answer({
        type: 'invalid',
        message: `apiVersion must be one of ${versions.join(', ')}`,
      });
    if (parsed.kind !== 'AdmissionReview')
      return answer({ type: 'invalid', message: 'kind must be AdmissionReview' });
    const request = parsed.request;
    if (!isRecord(request)) return answer({ type: 'invalid', message: 'request is missing' });
    if (typeof request.uid !== 'string' || request.uid === '')
      return answer({ type: 'invalid', message: 'request.uid is missing' });
    const gvk = request.kind;
    if (!isRecord(gvk) || typeof gvk.group !== 'string' || typeof gvk.kind !== 'string')
      return answer({
        type: 'invalid',
        message: 'request.kind must have string group, version and kind',
      });
    const object = request.object;
    const hasObject = isRecord(object) && Object.keys(object).length > 0;
    const work = hasObject ? count(object, job.stopAt) : { backends: 0, routes: 0 };
    answer({
      type: 'screened',
      apiVersion: parsed.apiVersion,
      uid: request.uid,
      group: gvk.group,
      kind: gvk.kind,
      hasObject,
      ...work,
    });
  });
}

const WORKER_SOURCE = `(${screenWorkerMain.toString()})(${countWork.toString()});`;

interface Job {
  readonly id: number;
  readonly body: Uint8Array;
  readonly stopAt: number;
  readonly resolve: (s: Screening) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

/**
 * A small pool of worker threads that parse and screen large reviews, so the event loop stays
 * free for small reviews, probes and deadline timers while a 3 MB body is parsed. A worker that
 * dies (out of its heap limit, say) fails its job and is replaced.
 */
export class ScreenPool {
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  readonly #heapMb: number;
  readonly #size: number;
  #nextId = 0;
  #closed = false;

  /**
   * Workers start on first use: most servers never see a body that needs screening, and a
   * worker costs start-up time and a heap of its own.
   */
  constructor(size: number, heapMb = 128) {
    this.#heapMb = heapMb;
    this.#size = Math.max(1, size);
  }

  /** Parses and screens `body`; counting stops past `stopAt`. */
  screen(body: Uint8Array, stopAt: number): Promise<Screening> {
    if (this.#closed) return Promise.reject(new Error('screen pool closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, body, stopAt, resolve, reject });
      this.#dispatch();
    });
  }

  get queued(): number {
    return this.#queue.length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Error('screen pool closed'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      resourceLimits: { maxOldGenerationSizeMb: this.#heapMb },
    });
    // Idle workers must not keep a process alive that is otherwise done.
    worker.unref();
    const slot: Slot = { worker, job: undefined };
    worker.on('message', (message: { id: number; result: Screening }) => {
      const job = slot.job;
      if (job?.id !== message.id) return;
      slot.job = undefined;
      job.resolve(message.result);
      this.#dispatch();
    });
    const lost = (error: Error) => {
      const job = slot.job;
      slot.job = undefined;
      job?.reject(error);
      if (this.#closed) return;
      // Replaced when next needed.
      const index = this.#slots.indexOf(slot);
      if (index !== -1) this.#slots.splice(index, 1);
      this.#dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      if (!this.#closed) lost(new Error(`screening worker exited with code ${code}`));
    });
    return slot;
  }

  #dispatch(): void {
    for (let job = this.#queue[0]; job !== undefined; job = this.#queue[0]) {
      let slot = this.#slots.find((s) => s.job === undefined);
      if (slot === undefined) {
        if (this.#closed || this.#slots.length >= this.#size) return;
        slot = this.#spawn();
        this.#slots.push(slot);
      }
      this.#queue.shift();
      slot.job = job;
      slot.worker.postMessage({ id: job.id, body: job.body, stopAt: job.stopAt });
    }
  }
}
