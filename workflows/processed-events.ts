// The outcomes of the events this run of the account workflow applied, bounded, oldest forgotten
// first: an update (registration, correction) waiting for its event is answered from here. The
// database (UNIQUE dedupe_key, an outcome written once) is the word on exactly-once.
import type { Outcome } from '../src/domain/types';

export class ProcessedEvents {
  private readonly outcomes = new Map<string, Outcome>();

  constructor(private readonly limit: number) {}

  has(eventId: string): boolean {
    return this.outcomes.has(eventId);
  }

  record(eventId: string, outcome: Outcome): void {
    this.outcomes.delete(eventId);
    this.outcomes.set(eventId, outcome);
    if (this.outcomes.size > this.limit) {
      this.outcomes.delete(this.outcomes.keys().next().value as string);
    }
  }

  outcomeOf(eventId: string): Outcome | undefined {
    return this.outcomes.get(eventId);
  }
}
