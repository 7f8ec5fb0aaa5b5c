import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeObject } from '../k8s/objects.js';
import { describeError } from './informer.js';
import type { KubeClient } from './kube-client.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  /** This replica, as `reportingInstance`. */
  readonly instance: string;
  /** Only the leader writes; other replicas log instead. */
  readonly isLeader: () => boolean;
  /** The same event for the same object is not repeated within this window. */
  readonly dedupeMs?: number;
}

const COMPONENT = 'meshwarden';
const MAX_MESSAGE = 1024;

/**
 * Writes core/v1 Events about objects (what `kubectl describe` shows). Fire and forget: a failed
 * write is logged, never retried, and never blocks the caller.
 */
export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #recent = new Map<string, number>();

  constructor(options: EventRecorderOptions) {
    this.#o = options;
  }

  record(object: KubeObject, type: EventType, reason: string, message: string): void {
    const meta = object.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const name = meta.name ?? '';
    const log = { kind: object.kind, namespace: meta.namespace, name, reason };
    if (type === 'Warning') this.#o.logger.warn(log, message);
    else this.#o.logger.info(log, message);
    if (!this.#o.isLeader()) return;
    const key = `${meta.uid ?? `${namespace}/${name}`}\u0000${reason}\u0000${message}`;
    const now = Date.now();
    const last = this.#recent.get(key);
    if (last !== undefined && now - last < (this.#o.dedupeMs ?? 600_000)) return;
    this.#recent.set(key, now);
    if (this.#recent.size > 5000) this.#recent.clear();
    const time = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${name}.${now.toString(16)}${randomBytes(2).toString('hex')}`,
        namespace,
      },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name,
        ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }),
        ...(meta.uid === undefined ? {} : { uid: meta.uid }),
        ...(meta.resourceVersion === undefined ? {} : { resourceVersion: meta.resourceVersion }),
      },
      type,
      reason,
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message,
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: this.#o.instance,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    this.#o.client
      .create(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, event)
      .catch((error: unknown) => {
        this.#recent.delete(key);
        this.#o.logger.warn({ ...log, err: describeError(error) }, 'could not record an Event');
      });
  }
}
