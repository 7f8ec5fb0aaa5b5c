import { ListWatch, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeObject } from '../k8s/objects.js';
import type { KubeClient } from './kube-client.js';

/** What an informer lists and watches. */
export interface InformerSource {
  /** For logs and metrics, e.g. `configmaps/meshwarden-policy`. */
  readonly name: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** Collection path, e.g. `/api/v1/configmaps`. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000 };

export type InformerEvent = 'add' | 'update' | 'delete';
type Handler = (object: KubeObject) => void;

export interface InformerOptions {
  readonly logger: Logger;
  readonly backoff?: BackoffOptions;
  /** Called each time the informer stopped on an error and is restarted. */
  readonly onRestart?: (source: InformerSource, error: unknown) => void;
}

/**
 * A cache kept current by list + watch (client-node's ListWatch), which restarts itself.
 * ListWatch relists by itself on 410 Gone but stops for good on any other error (a dropped
 * connection, a 500, a 403 while RBAC is being installed); this wrapper starts it again with
 * exponential backoff and jitter, from the last resourceVersion it saw.
 */
export class Informer {
  readonly source: InformerSource;
  readonly #lw: ListWatch<KubernetesObject>;
  readonly #handlers: Record<InformerEvent, Handler[]> = { add: [], update: [], delete: [] };
  readonly #logger: Logger;
  readonly #backoff: BackoffOptions;
  readonly #onRestart: InformerOptions['onRestart'];
  #delayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #synced = false;
  #syncWaiters: (() => void)[] = [];

  constructor(client: KubeClient, source: InformerSource, options: InformerOptions) {
    this.source = source;
    this.#logger = options.logger;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#onRestart = options.onRestart;
    this.#delayMs = this.#backoff.initialMs;
    const query = {
      ...(source.labelSelector ? { labelSelector: source.labelSelector } : {}),
      ...(source.fieldSelector ? { fieldSelector: source.fieldSelector } : {}),
    };
    const listFn = async () => {
      const list = await client.list(source.path, query);
      // Built-in lists omit apiVersion and kind on items; the cache should not.
      for (const item of list.items) {
        item.apiVersion ??= source.apiVersion;
        item.kind ??= source.kind;
      }
      // ListWatch fills its cache synchronously once this resolves: mark synced after that.
      setImmediate(() => this.#listed());
      return list as unknown as {
        items: KubernetesObject[];
        metadata: { resourceVersion?: string };
      };
    };
    this.#lw = new ListWatch(
      source.path,
      client.watch,
      listFn,
      false,
      source.labelSelector,
      source.fieldSelector,
    );
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#lw.on(event, (object) => {
        this.#delayMs = this.#backoff.initialMs;
        const obj = object as KubeObject;
        obj.apiVersion ??= source.apiVersion;
        obj.kind ??= source.kind;
        for (const handler of this.#handlers[event]) {
          try {
            handler(obj);
          } catch (error) {
            this.#logger.error({ err: error, informer: source.name }, 'informer handler failed');
          }
        }
      });
    }
    this.#lw.on('error', (error: unknown) => this.#restartLater(error));
  }

  on(event: InformerEvent | 'change', handler: Handler): this {
    if (event === 'change')
      for (const e of ['add', 'update', 'delete'] as const) this.on(e, handler);
    else this.#handlers[event].push(handler);
    return this;
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves after the first successful list. */
  synced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  get(name: string, namespace?: string): KubeObject | undefined {
    return this.#lw.get(name, namespace) as KubeObject | undefined;
  }

  list(namespace?: string): readonly KubeObject[] {
    return this.#lw.list(namespace) as readonly KubeObject[];
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const wake of this.#syncWaiters.splice(0)) wake();
    await this.#lw.stop();
  }

  #run(): void {
    this.#lw.start().catch((error: unknown) => this.#restartLater(error));
  }

  #listed(): void {
    this.#delayMs = this.#backoff.initialMs;
    if (this.#synced) return;
    this.#synced = true;
    for (const wake of this.#syncWaiters.splice(0)) wake();
  }

  #restartLater(error: unknown): void {
    // Stopping aborts the watch request, which ListWatch reports as an error too.
    if (this.#stopped || this.#timer !== undefined) return;
    const delay = Math.round(this.#delayMs * (0.8 + Math.random() * 0.4));
    this.#delayMs = Math.min(this.#delayMs * 2, this.#backoff.maxMs);
    this.#logger.warn(
      { informer: this.source.name, err: describeError(error), retryInMs: delay },
      'watch stopped on an error; restarting',
    );
    this.#onRestart?.(this.source, error);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#stopped) this.#run();
    }, delay);
    this.#timer.unref();
  }
}

/** A short description of a client error (client-node's messages embed whole bodies). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { statusCode?: number; code?: unknown }).statusCode;
    const message = error.message.split('\n')[0] ?? '';
    return code === undefined ? message : `${code} ${message}`;
  }
  return String(error);
}
