/**
 * The global budget of request bytes held and reviews in flight. A review that does not fit is
 * answered 429 with Retry-After: the API server applies the failure policy to that one call,
 * instead of every caller waiting behind an exhausted replica.
 */
export class AdmissionBudget {
  readonly maxBytes: number;
  readonly maxReviews: number;
  #bytes = 0;
  #reviews = 0;

  constructor(maxBytes: number, maxReviews: number) {
    this.maxBytes = maxBytes;
    this.maxReviews = maxReviews;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get reviews(): number {
    return this.#reviews;
  }

  /** A ticket for one review, or undefined when the review limit is reached. */
  admit(): BudgetTicket | undefined {
    if (this.#reviews >= this.maxReviews) return undefined;
    this.#reviews++;
    return new BudgetTicket(this);
  }

  /** @internal */
  take(bytes: number): boolean {
    if (this.#bytes + bytes > this.maxBytes) return false;
    this.#bytes += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number, review: boolean): void {
    this.#bytes -= bytes;
    if (review) this.#reviews--;
  }
}

/** One review's share of the budget: grows with the bytes read, returned once at the end. */
export class BudgetTicket {
  readonly #budget: AdmissionBudget;
  #held = 0;
  #released = false;

  constructor(budget: AdmissionBudget) {
    this.#budget = budget;
  }

  /** Holds `total` bytes in all for this review; false (nothing more taken) when over budget. */
  hold(total: number): boolean {
    if (this.#released || total <= this.#held) return !this.#released;
    if (!this.#budget.take(total - this.#held)) return false;
    this.#held = total;
    return true;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#budget.give(this.#held, true);
    this.#held = 0;
  }
}
