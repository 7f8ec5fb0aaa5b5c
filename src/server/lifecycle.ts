/**
 * Readiness and drain state shared by the probes, the request handlers and the shutdown path.
 * Ready means: a serving certificate loaded and not expired, policy loaded, not draining.
 */
export class Lifecycle {
  tlsLoaded = false;
  /** Expiry of the certificate in use; past it, every handshake fails, so not ready. */
  certificateNotAfter: Date | undefined;
  #policyLoaded: () => boolean;
  #clock: () => number;
  #draining = false;
  #inFlight = 0;
  #unanswered = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(policyLoaded: () => boolean = () => true, clock: () => number = Date.now) {
    this.#policyLoaded = policyLoaded;
    this.#clock = clock;
  }

  get ready(): boolean {
    return this.tlsLoaded && !this.certificateExpired && this.#policyLoaded() && !this.#draining;
  }

  get certificateExpired(): boolean {
    const notAfter = this.certificateNotAfter;
    return notAfter !== undefined && this.#clock() > notAfter.getTime();
  }

  /** Why not ready, for the probe body and logs. */
  get notReadyReason(): string | undefined {
    if (this.#draining) return 'draining';
    if (!this.tlsLoaded) return 'no serving certificate loaded';
    if (this.certificateExpired) return 'the serving certificate has expired';
    if (!this.#policyLoaded()) return 'policy not loaded';
    return undefined;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Reviews whose body was read completely and that have not been answered yet. */
  get unanswered(): number {
    return this.#unanswered;
  }

  startDrain(): void {
    this.#draining = true;
  }

  requestStarted(): void {
    this.#inFlight++;
  }

  requestFinished(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  bodyRead(): void {
    this.#unanswered++;
  }

  answered(): void {
    this.#unanswered--;
  }

  /** Resolves once no admission request is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
