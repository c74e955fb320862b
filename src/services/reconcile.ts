// Reconciliation (SPEC §3 rule 2): converge with the provider when webhooks were missed. Each
// difference the domain finds (src/domain/reconcile.ts) is stored as a `reconcile` event and
// applied by the account workflow like a webhook — store → deliver → applyTransition — so the
// audit trail (`billing.reconciled`) says what differed and rebuild-projection folds it exactly.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { findLinkedAccount, getAccount } from '../db/queries/billing-accounts';
import { insertEvent, toBillingEvent } from '../db/queries/billing-events';
import {
  insertReconciliationRun,
  listStripeLinkedAccounts,
  type LinkedAccount,
} from '../db/queries/reconciliation';
import { checkAccountId } from '../domain/account-id';
import { AppError } from '../domain/errors';
import { readFetchedSubscription } from '../domain/normalize-stripe';
import {
  reconcileMembership,
  reconcileSubscription,
  type MemberRow,
  type ReconcileFinding,
} from '../domain/reconcile';
import { upgradeState } from '../domain/transition';
import type { AccountState, BillingEvent, EventData, Outcome, Status } from '../domain/types';
import type { StripeSubscriptionsApi } from './stripe-api';

/**
 * Hands a stored reconcile event to its account workflow and waits for its outcome (null: not
 * applied yet, the service's delivery applies it). Given by the caller, so this use case
 * imports no Temporal client.
 */
export type ApplyStoredEvent = (event: BillingEvent) => Promise<Outcome | null>;

export interface ReconcileDeps {
  pool: pg.Pool;
  apply: ApplyStoredEvent;
  now?: () => Date;
}

export interface Correction {
  account_id: string;
  object: string;
  differences: string[];
  event_id: string;
  /** null: stored, the workflow has not answered yet (the delivery sweeper brings it). */
  outcome: Outcome | null;
  from_status: Status | null;
  to_status: Status | null;
}

export interface ReconcileSummary {
  run_id: string;
  provider: 'stripe' | 'myasp';
  scope: string;
  started_at: string;
  accounts_checked: number;
  accounts_corrected: number;
  events_recorded: number;
  corrections: Correction[];
  errors: { account_id: string; message: string }[];
}

const digest = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);

async function currentState(pool: pg.Pool, accountId: string): Promise<AccountState | null> {
  const state = await getAccount(pool, accountId);
  return state === null ? null : upgradeState(state);
}

/**
 * Stores one finding and waits for the account workflow to apply it. The dedupe key names the
 * object's evidence it was compared with and what was fetched: running again before the first
 * event is applied records nothing twice.
 */
export async function recordFinding(
  deps: ReconcileDeps,
  accountId: string,
  before: AccountState | null,
  finding: ReconcileFinding<EventData & { differences: string[] }>,
  payload: unknown,
): Promise<Correction> {
  const event = await storeFinding(deps.pool, accountId, before, finding, payload);
  let outcome: Outcome | null = event.outcome;
  if (outcome === null) {
    try {
      outcome = await deps.apply(toBillingEvent(event));
    } catch {
      outcome = null; // stored: the running service's delivery sweeper applies it
    }
  }
  const after = await getAccount(deps.pool, accountId);
  return {
    account_id: accountId,
    object: finding.object_key,
    differences: finding.data.differences,
    event_id: String(event.id),
    outcome,
    from_status: before?.status ?? null,
    to_status: after?.status ?? null,
  };
}

/** Stores one finding as a `reconcile` event (once: see recordFinding), for the workflow to apply. */
async function storeFinding(
  pool: pg.Pool,
  accountId: string,
  before: AccountState | null,
  finding: ReconcileFinding<EventData & { differences: string[] }>,
  payload: unknown,
) {
  const known = before?.object_versions[finding.object_key] ?? 'none';
  const { event } = await insertEvent(pool, {
    source: 'reconcile',
    dedupe_key: `reconcile:${finding.object_key}:${known}:${digest(finding.data)}`,
    event_type: finding.data.kind,
    account_id: accountId,
    occurred_at: finding.occurred_at,
    object_key: finding.object_key,
    payload,
    data: finding.data,
  });
  return event;
}

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
    const before = await currentState(deps.pool, accountId);
    const fetchedAt = (deps.now?.() ?? new Date()).toISOString();
    const version = before?.objects?.subscriptions[id]?.version ?? null;
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
  const known = Object.keys(state?.objects?.subscriptions ?? {}).filter((id) => !seen.has(id));
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
  const state = await currentState(deps.pool, account.account_id);
  const subscriptions = await fetchSubscriptions(stripe, account, state);
  const fetchedAt = (deps.now?.() ?? new Date()).toISOString();
  const corrections: Correction[] = [];
  for (const subscription of subscriptions) {
    // A subscription naming another account belongs to it, as its webhooks do (SPEC §3).
    const named = readFetchedSubscription(subscription).explicit_account_id;
    const accountId = named ? checkAccountId(named, 'metadata.account_id') : account.account_id;
    const before = await currentState(deps.pool, accountId);
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

/** Keeps a run in reconciliation_runs and returns its summary. */
export async function finishRun(
  pool: pg.Pool,
  run: Omit<ReconcileSummary, 'run_id' | 'accounts_corrected' | 'events_recorded'> & {
    startedBy: string;
  },
): Promise<ReconcileSummary> {
  const changed = run.corrections.filter((c) => c.outcome === 'applied' || c.outcome === null);
  const accountsCorrected = new Set(changed.map((c) => c.account_id)).size;
  const summary = {
    provider: run.provider,
    scope: run.scope,
    started_at: run.started_at,
    accounts_checked: run.accounts_checked,
    accounts_corrected: accountsCorrected,
    events_recorded: run.corrections.length,
    corrections: run.corrections,
    errors: run.errors,
  };
  const run_id = await insertReconciliationRun(pool, {
    ...summary,
    started_by: run.startedBy,
    errors: run.errors.length,
    summary: { corrections: run.corrections, errors: run.errors },
  });
  return { run_id, ...summary };
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

export interface MyaspReconcileOptions {
  /** Where the list came from, for reconciliation_runs. */
  file: string;
  startedBy: string;
  /** When the list was exported: evidence time of rows without a date of their own. */
  exportedAt: string;
  /** Only find the differences; store nothing. */
  dryRun: boolean;
}

export interface MyaspFinding {
  account_id: string;
  user_id: string;
  differences: string[];
  from_code: string | null;
  to_code: string;
}

/**
 * Compares an exported MyASP member list with the accounts. Each member is the account linked to
 * its user id, else `myasp:<user id>` as its webhooks would be. A dry run returns the findings
 * and writes nothing; otherwise each is stored and applied as a `reconcile` event.
 */
export async function reconcileMyasp(
  deps: Omit<ReconcileDeps, 'apply'> & { apply?: ApplyStoredEvent },
  rows: readonly MemberRow[],
  opts: MyaspReconcileOptions,
): Promise<{ findings: MyaspFinding[]; summary: ReconcileSummary | null }> {
  const findings: MyaspFinding[] = [];
  const corrections: Correction[] = [];
  const errors: ReconcileSummary['errors'] = [];
  for (const row of rows) {
    const accountId =
      (await findLinkedAccount(deps.pool, { myaspUserId: row.user_id })) ??
      checkAccountId(`myasp:${row.user_id}`, 'the user id (myasp:<user id>)');
    const before = await currentState(deps.pool, accountId);
    const finding = reconcileMembership(before, row, opts.exportedAt);
    if (finding === null) continue;
    findings.push({
      account_id: accountId,
      user_id: row.user_id,
      differences: finding.data.differences,
      from_code: before?.objects?.membership?.code ?? null,
      to_code: row.code,
    });
    if (opts.dryRun) continue;
    const apply = deps.apply;
    if (!apply) throw new Error('Recording MyASP differences needs a Temporal connection.');
    try {
      corrections.push(
        await recordFinding({ ...deps, apply }, accountId, before, finding, { ...row }),
      );
    } catch (err) {
      errors.push({
        account_id: accountId,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
  if (opts.dryRun) return { findings, summary: null };
  const summary = await finishRun(deps.pool, {
    provider: 'myasp',
    scope: opts.file,
    started_at: (deps.now?.() ?? new Date()).toISOString(),
    startedBy: opts.startedBy,
    accounts_checked: rows.length,
    corrections,
    errors,
  });
  return { findings, summary };
}
