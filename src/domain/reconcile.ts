// Reconciliation (SPEC §3 rule 2, "where the provider can be asked"): what the provider holds now,
// compared with what the account's object says. A difference becomes an event of source
// `reconcile` carrying the fetched object as evidence at the fetch time; no difference, no event.
// Pure: the caller fetches, this decides.
import { subscriptionStanding } from './derive';
import { readFetchedSubscription } from './normalize-stripe';
import type {
  AccountState,
  MembershipObject,
  ReconciledMembership,
  ReconciledSubscription,
  SubscriptionObject,
} from './types';

/** A reconcile event before it is stored (the caller adds the dedupe key and account). */
export interface ReconcileFinding<D> {
  object_key: string;
  occurred_at: string;
  data: D;
}

/** Statuses after which a subscription never changes again: its other fields no longer matter. */
const FINAL_STATUSES = new Set(['canceled', 'incomplete_expired']);

type Snapshot = Omit<ReconciledSubscription, 'kind' | 'differences'>;

const SNAPSHOT_FIELDS = [
  ['status', (s: Snapshot) => s.subscription_status, (o: SubscriptionObject) => o.status],
  ['cancel_at', (s: Snapshot) => s.cancel_at, (o: SubscriptionObject) => o.cancel_at],
  [
    'cancel_at_period_end',
    (s: Snapshot) => s.cancel_at_period_end ?? false,
    (o: SubscriptionObject) => o.cancel_at_period_end,
  ],
  ['trial_end', (s: Snapshot) => s.trial_end ?? null, (o: SubscriptionObject) => o.trial_end],
  ['plan', (s: Snapshot) => s.plan, (o: SubscriptionObject) => o.plan],
  ['amount', (s: Snapshot) => s.amount, (o: SubscriptionObject) => o.amount],
] as const;

/**
 * The fields in which the account's subscription object differs from the fetched snapshot, as of
 * the fetch time. `unknown_subscription`: the account never heard of it. `standing`: the fields
 * agree, but newer invoice evidence makes the object stand differently from what Stripe holds
 * (a renewal paid while its `invoice.paid` was lost).
 */
export function subscriptionDifferences(
  id: string,
  known: SubscriptionObject | undefined,
  fetched: Snapshot,
  fetchedAt: string,
): string[] {
  if (known === undefined) return ['unknown_subscription'];
  if (known.status !== null && known.status === fetched.subscription_status) {
    if (FINAL_STATUSES.has(known.status)) return [];
  }
  const differences: string[] = SNAPSHOT_FIELDS.filter(
    ([, theirs, ours]) => theirs(fetched) !== ours(known),
  ).map(([name]) => name);
  const seq = known.seq + 1;
  const asFetched: SubscriptionObject = {
    ...known,
    status: fetched.subscription_status,
    cancel_at: fetched.cancel_at,
    cancel_at_period_end: fetched.cancel_at_period_end ?? false,
    trial_end: fetched.trial_end ?? null,
    latest_invoice: fetched.latest_invoice ?? null,
    pending_update: fetched.pending_update ?? false,
    collection_method: fetched.collection_method ?? null,
    paused_reason: fetched.paused_reason ?? null,
    version: fetchedAt,
    snapshot_seq: seq,
    seq,
  };
  const ours = subscriptionStanding(id, known, fetchedAt);
  const theirs = subscriptionStanding(id, asFetched, fetchedAt);
  if (ours.standing !== theirs.standing || ours.cancel_at !== theirs.cancel_at) {
    differences.push('standing');
  }
  return differences;
}

/**
 * A subscription fetched from Stripe at `fetchedAt`, compared with the account: the reconcile
 * event to record, or null when the account already agrees with Stripe.
 */
export function reconcileSubscription(
  state: AccountState | null,
  subscription: unknown,
  fetchedAt: string,
): ReconcileFinding<ReconciledSubscription> | null {
  const { data } = readFetchedSubscription(subscription);
  const id = data.subscription_id as string;
  const known = state?.objects.subscriptions[id];
  const differences = subscriptionDifferences(id, known, data, fetchedAt);
  if (differences.length === 0) return null;
  return {
    object_key: `stripe:${id}`,
    occurred_at: fetchedAt,
    data: { ...data, differences },
  };
}

/** A member row of a MyASP export: the user, the status code, and the row's date if it has one. */
export interface MemberRow {
  user_id: string;
  code: MembershipObject['code'];
  /** When the row says the status was set; ISO-8601. Null: the export's own time. */
  at: string | null;
}

/**
 * A MyASP export row compared with the account's membership: the reconcile event to record, or
 * null when they agree (or the account holds newer evidence than the row's date).
 */
export function reconcileMembership(
  state: AccountState | null,
  row: MemberRow,
  exportedAt: string,
): ReconcileFinding<ReconciledMembership> | null {
  const known = state?.objects.membership ?? null;
  const at = row.at ?? exportedAt;
  const differences: string[] = [];
  if (known === null) differences.push('unknown_member');
  else if (known.code !== row.code) differences.push('status');
  if (differences.length === 0) return null;
  if (known !== null && Date.parse(at) < Date.parse(known.version)) return null;
  return {
    object_key: `myasp:${row.user_id}`,
    occurred_at: at,
    data: {
      kind: 'reconcile.membership',
      myasp_user_id: row.user_id,
      provider_status: row.code,
      differences,
    },
  };
}
