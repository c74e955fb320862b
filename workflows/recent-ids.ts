/** A bounded, insertion-ordered set of event ids, carried through continue-as-new. */
export class RecentIds {
  private readonly ids: Set<string>;

  constructor(
    initial: readonly string[],
    private readonly limit: number,
  ) {
    this.ids = new Set(initial.slice(-limit));
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    while (this.ids.size > this.limit) this.ids.delete(this.ids.values().next().value as string);
  }

  toArray(): string[] {
    return [...this.ids];
  }
}
