import type { Logger } from 'pino';
import { describeError } from './informer.js';

export interface QueueResult {
  /** Process the key again after this long (e.g. waiting on something outside our control). */
  readonly requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  readonly logger: Logger;
  readonly name: string;
  /** Retry delays after failures: doubling from `initialMs` up to `maxMs`. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

/**
 * A deduplicating queue with one worker, as controllers use: a key added while it waits is
 * processed once; a key added while it is being processed is processed again afterwards; a key
 * whose processing throws is retried with exponential backoff.
 */
export class WorkQueue {
  readonly #process: (key: string) => Promise<QueueResult>;
  readonly #o: WorkQueueOptions;
  readonly #pending = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, NodeJS.Timeout>();
  #running: Promise<void> | undefined;
  #stopped = true;
  #idleWaiters: (() => void)[] = [];

  constructor(process: (key: string) => Promise<QueueResult>, options: WorkQueueOptions) {
    this.#process = process;
    this.#o = options;
  }

  start(): void {
    this.#stopped = false;
    this.#kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    this.#pending.clear();
    await this.#running;
  }

  add(key: string): void {
    if (this.#stopped) return;
    const timer = this.#delayed.get(key);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.#delayed.delete(key);
    }
    this.#pending.add(key);
    this.#kick();
  }

  addAfter(key: string, ms: number): void {
    if (this.#stopped || this.#delayed.has(key)) return;
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.#delayed.set(key, timer);
  }

  get length(): number {
    return this.#pending.size;
  }

  /** Resolves when nothing is pending or being processed (delayed keys do not count). */
  idle(): Promise<void> {
    if (this.#running === undefined && this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #kick(): void {
    if (this.#running !== undefined || this.#stopped) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#pending.size > 0 && !this.#stopped) this.#kick();
      else for (const wake of this.#idleWaiters.splice(0)) wake();
    });
  }

  async #drain(): Promise<void> {
    while (!this.#stopped) {
      const key = this.#pending.values().next().value;
      if (key === undefined) return;
      this.#pending.delete(key);
      try {
        const result = await this.#process(key);
        this.#failures.delete(key);
        if (result.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        const failures = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, failures);
        const { initialMs, maxMs } = this.#o.backoff ?? { initialMs: 1000, maxMs: 300_000 };
        const delay = Math.min(initialMs * 2 ** (failures - 1), maxMs);
        this.#o.logger.warn(
          { queue: this.#o.name, key, err: describeError(error), failures, retryInMs: delay },
          'processing failed; will retry',
        );
        this.addAfter(key, delay);
      }
    }
  }
}
