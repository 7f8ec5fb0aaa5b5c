/**
 * Readiness and drain state shared by the probes, the request handlers and the shutdown path.
 * Ready means: serving certificate loaded, policy loaded, not draining.
 */
export class Lifecycle {
  tlsLoaded = false;
  #policyLoaded: () => boolean;
  #draining = false;
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(policyLoaded: () => boolean = () => true) {
    this.#policyLoaded = policyLoaded;
  }

  get ready(): boolean {
    return this.tlsLoaded && this.#policyLoaded() && !this.#draining;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get inFlight(): number {
    return this.#inFlight;
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

  /** Resolves once no admission request is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}
