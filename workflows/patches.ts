// The patch ids of the account workflow, in the order they were introduced. Each is checked with
// `patched()` where its behaviour differs; test/workflows/replay.test.ts replays the histories
// recorded before each one.
/**
 * Patches of this workflow (see test/workflows/replay.test.ts). Each is checked where its
 * behaviour differs, so a running account takes the new behaviour from its next event on while
 * its recorded history replays with the old one.
 */
export const PATCHES = {
  /** The status is derived from every provider object (SPEC §3) instead of the last event. */
  derivedStatus: 'derived-status',
  /**
   * An event already in the processed set is not dropped unseen: applyTransition asks the
   * database, which applies it if its outcome is still NULL (a database restored from a backup
   * reuses ids the workflow has seen).
   */
  dedupeAsksDatabase: 'dedupe-asks-database',
  /**
   * A wake-up applies all of the account's stored, unprocessed events from billing_events in one
   * local activity and one transaction (`applyPendingEvents`), instead of one `applyTransition`
   * activity per signalled event.
   */
  batchApply: 'batch-apply',
  /**
   * Two events of one Stripe subscription in the same `created` second that disagree: after the
   * batch the workflow asks Stripe (`reconcileSubscriptions`) and applies its answer, stored as a
   * `reconcile` event, in its next batch. Only where STRIPE_API_KEY is set.
   */
  reconcileEqualSeconds: 'reconcile-equal-seconds',
} as const;
