// Reconciliation against Stripe's API: every Stripe-linked account (the daily schedule, the CLI),
// or the subscriptions of one account whose events conflict at the same second.
import type pg from 'pg';

import { getAccount } from '../../db/queries/billing-accounts';
import { type LinkedAccount, listStripeLinkedAccounts } from '../../db/queries/reconciliation';
import { checkAccountId } from '../../domain/account-id';
import { AppError } from '../../domain/errors';
import { readFetchedSubscription } from '../../domain/normalize-stripe';
import { reconcileSubscription } from '../../domain/reconcile';
import type { AccountState } from '../../domain/types';
import type { StripeSubscriptionsApi } from '../stripe-api';
import { type Correction, type ReconcileDeps, recordFinding, storeFinding } from './findings';
import { finishRun, type ReconcileSummary } from './runs';

export interface AskedSubscriptions {
  /** billing_events.id of each reconcile event stored (Stripe differed from the account). */
  recorded: string[];
  /** Subscriptions Stripe agreed on with the account: nothing stored. */
  agreed: string[];
  /** Subscriptions Stripe does not know (404): nothing stored. */
  unknown: string[];
}

/**
 * Equal-second conflicts (SPEC §3 rule 2): asks Stripe for each subscription of the account and
 * stores its answer as a `reconcile` event where it differs from the account's object; the
 * account workflow applies it in its next batch. The answer is evidence at the fetch time, or
 * at the conflicting second if that is later (Stripe's clock ahead of ours), never older than
 * the events it settles.
 */
export async function askStripeAbout(
  deps: { pool: pg.Pool; now?: () => Date },
  stripe: StripeSubscriptionsApi,
  accountId: string,
  subscriptionIds: readonly string[],
): Promise<AskedSubscriptions> {
  const asked: AskedSubscriptions = { recorded: [], agreed: [], unknown: [] };
  for (const id of subscriptionIds) {
    const subscription = await stripe.retrieveSubscription(id);
    if (subscription === null) {
      asked.unknown.push(id);
      continue;
    }
    const before = await getAccount(deps.pool, accountId);
    const fetchedAt = (deps.now?.() ?? new Date()).toISOString();
    const version = before?.objects.subscriptions[id]?.version ?? null;
    const at =
      version !== null && Date.parse(version) > Date.parse(fetchedAt) ? version : fetchedAt;
    const finding = reconcileSubscription(before, subscription, at);
    if (finding === null) {
      asked.agreed.push(id);
      continue;
    }
    const event = await storeFinding(deps.pool, accountId, before, finding, subscription);
    asked.recorded.push(String(event.id));
  }
  return asked;
}

export interface StripeReconcileOptions {
  /** One account; undefined: every account linked to a Stripe customer. */
  accountId?: string;
  /** Who started it, for reconciliation_runs: `cli:<login>`, `schedule`. */
  startedBy: string;
  /** Accounts reconciled at the same time (Stripe's rate limit is per key); default 4. */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Every subscription Stripe holds for the account's customer, plus any it knows but Stripe did not list. */
async function fetchSubscriptions(
  stripe: StripeSubscriptionsApi,
  account: LinkedAccount,
  state: AccountState | null,
): Promise<unknown[]> {
  const listed = await stripe.listSubscriptions(account.stripe_customer_id);
  const seen = new Set(listed.map((s) => readFetchedSubscription(s).data.subscription_id));
  const known = Object.keys(state?.objects.subscriptions ?? {}).filter((id) => !seen.has(id));
  for (const id of known) {
    const sub = await stripe.retrieveSubscription(id);
    if (sub !== null) listed.push(sub);
  }
  return listed;
}

async function reconcileAccount(
  deps: ReconcileDeps,
  stripe: StripeSubscriptionsApi,
  account: LinkedAccount,
): Promise<Correction[]> {
  const state = await getAccount(deps.pool, account.account_id);
  const subscriptions = await fetchSubscriptions(stripe, account, state);
  const fetchedAt = (deps.now?.() ?? new Date()).toISOString();
  const corrections: Correction[] = [];
  for (const subscription of subscriptions) {
    // A subscription naming another account belongs to it, as its webhooks do (SPEC §3).
    const named = readFetchedSubscription(subscription).explicit_account_id;
    const accountId = named ? checkAccountId(named, 'metadata.account_id') : account.account_id;
    const before = await getAccount(deps.pool, accountId);
    const finding = reconcileSubscription(before, subscription, fetchedAt);
    if (finding)
      corrections.push(await recordFinding(deps, accountId, before, finding, subscription));
  }
  return corrections;
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** Reconciles one account or every Stripe-linked account against Stripe's API. */
export async function reconcileStripe(
  deps: ReconcileDeps,
  stripe: StripeSubscriptionsApi,
  opts: StripeReconcileOptions,
): Promise<ReconcileSummary> {
  const startedAt = (deps.now?.() ?? new Date()).toISOString();
  const accounts = await listStripeLinkedAccounts(deps.pool, { accountId: opts.accountId ?? null });
  if (opts.accountId !== undefined && accounts.length === 0) {
    throw new AppError(
      'account_not_linked',
      `Account ${opts.accountId} has no Stripe customer, so there is nothing to ask Stripe about; check the id with \`replay ${opts.accountId}\`.`,
      404,
    );
  }
  const corrections: Correction[] = [];
  const errors: ReconcileSummary['errors'] = [];
  let done = 0;
  opts.onProgress?.(0, accounts.length);
  await forEachBounded(accounts, opts.concurrency ?? 4, async (account) => {
    try {
      corrections.push(...(await reconcileAccount(deps, stripe, account)));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      errors.push({ account_id: account.account_id, message });
    }
    done += 1;
    opts.onProgress?.(done, accounts.length);
  });
  return finishRun(deps.pool, {
    provider: 'stripe',
    scope: opts.accountId === undefined ? 'all' : `account:${opts.accountId}`,
    started_at: startedAt,
    startedBy: opts.startedBy,
    accounts_checked: accounts.length,
    corrections,
    errors,
  });
}
