import type { Logger } from 'pino';
import type { KubeObject } from '../k8s/objects.js';
import { asRecord } from '../util/objects.js';
import { describeError } from './informer.js';
import { isConflict, isNotFound, type KubeClient } from './kube-client.js';

export interface LeaderElectionTiming {
  /** How long a lease holds without renewal before another replica may take it. */
  readonly leaseDurationSeconds: number;
  /** A leader that could not renew for this long stops leading. Less than the lease duration. */
  readonly renewDeadlineMs: number;
  /** Time between attempts to acquire or renew. */
  readonly retryPeriodMs: number;
}

/** client-go's defaults. */
export const DEFAULT_LEADER_TIMING: LeaderElectionTiming = {
  leaseDurationSeconds: 15,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

export interface LeaderElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly logger: Logger;
  readonly timing?: LeaderElectionTiming;
  readonly onStartedLeading?: () => void;
  readonly onStoppedLeading?: () => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, the client-go algorithm: the holder
 * renews `renewTime` every retry period; another replica takes the lease over only after it has
 * watched the record stay unchanged for a whole lease duration on its own clock (so clock skew
 * between nodes does not matter); every write is a PUT carrying the resourceVersion read, so two
 * replicas can never both win. A leader that cannot renew within the renew deadline steps down.
 * On stop, a leader releases the lease so a successor need not wait.
 */
export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly #timing: LeaderElectionTiming;
  readonly #path: string;
  #leader = false;
  #lastRenew = 0;
  #observed: { record: string; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(options: LeaderElectorOptions) {
    this.#o = options;
    this.#timing = options.timing ?? DEFAULT_LEADER_TIMING;
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases/${encodeURIComponent(options.name)}`;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  get identity(): string {
    return this.#o.identity;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick();
  }

  /** Stops campaigning; a leader releases the lease. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    if (this.#leader) {
      this.#setLeader(false);
      await this.#release().catch((error: unknown) =>
        this.#o.logger.warn({ err: describeError(error) }, 'could not release the leader lease'),
      );
    }
  }

  #tick(): void {
    this.#running = this.#attempt().finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      this.#timer = setTimeout(() => this.#tick(), this.#timing.retryPeriodMs);
      this.#timer.unref();
    });
  }

  async #attempt(): Promise<void> {
    let ok = false;
    try {
      ok = await this.#tryAcquireOrRenew();
    } catch (error) {
      this.#o.logger.warn(
        { err: describeError(error), lease: this.#o.name },
        'leader lease: request failed',
      );
    }
    if (this.#stopped) return;
    if (ok) {
      this.#lastRenew = Date.now();
      if (!this.#leader) this.#setLeader(true);
    } else if (this.#leader && Date.now() - this.#lastRenew > this.#timing.renewDeadlineMs) {
      this.#setLeader(false);
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const lease = await this.#o.client.get(this.#path);
    const me = this.#o.identity;
    if (!lease) {
      try {
        await this.#o.client.create(this.#path.replace(/\/[^/]+$/, ''), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.#o.name, namespace: this.#o.namespace },
          spec: this.#spec(me, now, now, 0),
        });
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
    }
    const spec = (asRecord(lease.spec) ?? {}) as LeaseSpec;
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (this.#observed?.record !== record) this.#observed = { record, at: Date.now() };
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? this.#timing.leaseDurationSeconds) * 1000;
    if (holder !== '' && holder !== me && this.#observed.at + duration > Date.now()) return false;
    const next: KubeObject = {
      ...lease,
      spec: this.#spec(
        me,
        holder === me && spec.acquireTime ? spec.acquireTime : microTime(now),
        now,
        (spec.leaseTransitions ?? 0) + (holder === me ? 0 : 1),
      ),
    };
    try {
      await this.#o.client.replace(this.#path, next);
    } catch (error) {
      if (isConflict(error) || isNotFound(error)) return false;
      throw error;
    }
    if (holder !== me && holder !== '')
      this.#o.logger.info({ previous: holder, lease: this.#o.name }, 'leader lease taken over');
    return true;
  }

  #spec(holder: string, acquire: Date | string, renew: Date, transitions: number): LeaseSpec {
    return {
      holderIdentity: holder,
      leaseDurationSeconds: this.#timing.leaseDurationSeconds,
      acquireTime: typeof acquire === 'string' ? acquire : microTime(acquire),
      renewTime: microTime(renew),
      leaseTransitions: transitions,
    };
  }

  async #release(): Promise<void> {
    const lease = await this.#o.client.get(this.#path);
    const spec = (asRecord(lease?.spec) ?? {}) as LeaseSpec;
    if (!lease || spec.holderIdentity !== this.#o.identity) return;
    const now = new Date();
    await this.#o.client.replace(this.#path, {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: microTime(now),
      },
    });
    this.#o.logger.info({ lease: this.#o.name }, 'leader lease released');
  }

  #setLeader(leader: boolean): void {
    this.#leader = leader;
    this.#o.logger.info(
      { identity: this.#o.identity, lease: `${this.#o.namespace}/${this.#o.name}` },
      leader ? 'became the leader: reconciling and managing certificates' : 'no longer the leader',
    );
    try {
      if (leader) this.#o.onStartedLeading?.();
      else this.#o.onStoppedLeading?.();
    } catch (error) {
      this.#o.logger.error({ err: error }, 'leadership callback failed');
    }
  }
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
