// The events this account workflow has recently processed, with their outcomes: bounded, in the
// order they were processed, carried through continue-as-new (ids only). It saves an activity for
// an event signalled twice; the database (UNIQUE dedupe_key, an outcome written once) stays the
// last word on exactly-once.
import type { Outcome } from '../src/domain/types';

export class ProcessedEvents {
  private readonly outcomes = new Map<string, Outcome | null>();

  /** `carried`: ids processed by the previous run (their outcomes are not carried). */
  constructor(
    carried: readonly string[],
    private readonly limit: number,
  ) {
    for (const id of carried.slice(-limit)) this.outcomes.set(id, null);
  }

  has(eventId: string): boolean {
    return this.outcomes.has(eventId);
  }

  record(eventId: string, outcome: Outcome): void {
    this.outcomes.delete(eventId);
    this.outcomes.set(eventId, outcome);
    while (this.outcomes.size > this.limit) {
      this.outcomes.delete(this.outcomes.keys().next().value as string);
    }
  }

  /** The outcome of an event processed in this run; unknown for older ones. */
  outcomeOf(eventId: string): Outcome | undefined {
    return this.outcomes.get(eventId) ?? undefined;
  }

  ids(): string[] {
    return [...this.outcomes.keys()];
  }
}
