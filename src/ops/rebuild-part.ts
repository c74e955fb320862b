// One share of rebuild-projection (SPEC §7): fold the pure transition over the share's processed
// events, in the order the workflows processed them, and compare the result with the share's
// billing_accounts rows column by column. Accounts never depend on each other, so the shares of
// one rebuild can run on threads of their own (rebuild.ts) and their results simply add up.
import type { Db } from '../db/pool';
import type { AccountPart } from '../db/queries/account-part';
import { listAllAccounts } from '../db/queries/billing-accounts';
import {
  type FoldedEvent,
  type FoldedEventFilter,
  listProcessedEventsInRange,
  maxProcessedSeq,
  toBillingEvent,
} from '../db/queries/billing-events';
import { transition } from '../domain/transition';
import type { AccountState, Outcome } from '../domain/types';

export interface ColumnDiff {
  account_id: string;
  column: keyof AccountState;
  projection: unknown;
  rebuilt: unknown;
}

export interface OutcomeMismatch {
  event_id: string;
  account_id: string;
  stored: Outcome | null;
  rebuilt: Outcome;
}

/** A rebuilt row to write, with what the rebuild saw: the row's last event and the newest seq. */
export interface RowToWrite {
  state: AccountState;
  seenLastEvent: string | null;
  lastSeq: string | null;
}

/** What a rebuild finds, in a share or over every account. */
export interface Findings {
  events: number;
  /** Accounts the events produce. */
  accounts: number;
  matching: number;
  differing: ColumnDiff[];
  /** Accounts the events produce that have no billing_accounts row. */
  missing: string[];
  /** billing_accounts rows no processed event produces. Never deleted, only reported. */
  extra: string[];
}

/** What one share found; plain data, so it can cross from a thread. */
export interface PartResult extends Findings {
  /** With the processed_seq of each event, to merge the shares in processed order. */
  mismatches: { seq: string; mismatch: OutcomeMismatch }[];
  toWrite: RowToWrite[];
}

export interface PartOptions {
  /** The share to rebuild; none: every account. */
  part?: AccountPart;
  /** Events read per query. */
  pageSize: number;
  /** Called with the number of events folded after each page. */
  onEvents?: (events: number) => void;
}

interface Fold {
  states: Map<string, AccountState | null>;
  lastSeq: Map<string, string>;
  mismatches: PartResult['mismatches'];
  events: number;
}

function foldOne(fold: Fold, row: FoldedEvent): void {
  const before = fold.states.get(row.account_id) ?? null;
  const decision = transition(before, toBillingEvent(row));
  if (decision.outcome !== row.outcome) {
    fold.mismatches.push({
      seq: row.processed_seq ?? '0',
      mismatch: {
        event_id: row.id,
        account_id: row.account_id,
        stored: row.outcome,
        rebuilt: decision.outcome,
      },
    });
  }
  fold.states.set(row.account_id, decision.outcome === 'applied' ? decision.state : before);
  if (row.processed_seq !== null) fold.lastSeq.set(row.account_id, row.processed_seq);
  fold.events += 1;
}

/**
 * Reads the share's events by ranges of processed_seq (about pageSize of its events each) up to
 * the newest, then again while events were processed meanwhile: to the end, as workflows write.
 * Each row goes to `visit` in the order the workflows processed them; what-if folds the same rows.
 */
export async function visitProcessedEvents(
  db: Db,
  opts: PartOptions & FoldedEventFilter,
  visit: (row: FoldedEvent) => void,
): Promise<void> {
  const part = opts.part ?? { index: 0, count: 1 };
  const span = BigInt(opts.pageSize * part.count);
  let after = 0n;
  for (let newest = BigInt(await maxProcessedSeq(db)); after < newest;) {
    for (; after < newest; after += span) {
      const upto = after + span < newest ? after + span : newest;
      const page = await listProcessedEventsInRange(db, {
        ...opts,
        afterSeq: after.toString(),
        uptoSeq: upto.toString(),
        part,
      });
      for (const row of page) visit(row);
      if (page.length > 0) opts.onEvents?.(page.length);
    }
    after = newest;
    newest = BigInt(await maxProcessedSeq(db));
  }
}

async function foldProcessedEvents(db: Db, opts: PartOptions): Promise<Fold> {
  const fold: Fold = { states: new Map(), lastSeq: new Map(), mismatches: [], events: 0 };
  await visitProcessedEvents(db, opts, (row) => foldOne(fold, row));
  return fold;
}

type Kind = 'text' | 'time' | 'number' | 'json';

// Every column the projection stores, and how to compare it: timestamps as ISO strings (the
// database may print "…00Z" as "…00.000Z"), amount as a number, object_versions as an object.
const COLUMN_KINDS: Record<keyof AccountState, Kind> = {
  account_id: 'text',
  provider: 'text',
  status: 'text',
  provider_status: 'text',
  plan: 'text',
  amount: 'number',
  email: 'text',
  myasp_user_id: 'text',
  stripe_customer_id: 'text',
  stripe_subscription_id: 'text',
  trial_end: 'time',
  scheduled_cancel_at: 'time',
  grace_until: 'time',
  status_since: 'time',
  status_event_id: 'text',
  last_event_id: 'text',
  last_event_ts: 'time',
  object_versions: 'json',
  objects: 'json',
  as_of: 'time',
  status_object: 'text',
  status_reason: 'text',
};

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return Object.fromEntries(entries.map(([k, x]) => [k, sortKeys(x)]));
}

function normalize(kind: Kind, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (kind === 'time') return new Date(v as string).toISOString();
  if (kind === 'number') return Number(v);
  if (kind === 'json') return sortKeys(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function diffAccount(projection: AccountState, rebuilt: AccountState): ColumnDiff[] {
  return (Object.keys(COLUMN_KINDS) as (keyof AccountState)[]).flatMap((column) => {
    const a = normalize(COLUMN_KINDS[column], projection[column]);
    const b = normalize(COLUMN_KINDS[column], rebuilt[column]);
    const same = JSON.stringify(a) === JSON.stringify(b);
    return same ? [] : [{ account_id: rebuilt.account_id, column, projection: a, rebuilt: b }];
  });
}

function compare(fold: Fold, projection: AccountState[]): PartResult {
  const rows = new Map(projection.map((p) => [p.account_id, p]));
  const result: PartResult = {
    events: fold.events,
    accounts: 0,
    matching: 0,
    differing: [],
    missing: [],
    extra: [],
    mismatches: fold.mismatches,
    toWrite: [],
  };
  for (const state of fold.states.values()) {
    if (state === null) continue;
    result.accounts += 1;
    const row = rows.get(state.account_id);
    const diffs = row ? diffAccount(row, state) : [];
    if (!row) result.missing.push(state.account_id);
    if (diffs.length > 0) result.differing.push(...diffs);
    if (row && diffs.length === 0) {
      result.matching += 1;
      continue;
    }
    result.toWrite.push({
      state,
      seenLastEvent: row?.last_event_id ?? null,
      lastSeq: fold.lastSeq.get(state.account_id) ?? null,
    });
  }
  result.extra = projection
    .filter((p) => (fold.states.get(p.account_id) ?? null) === null)
    .map((p) => p.account_id);
  return result;
}

/** Folds and compares one share of the accounts (or all of them). */
export async function rebuildPart(db: Db, opts: PartOptions): Promise<PartResult> {
  const fold = await foldProcessedEvents(db, opts);
  return compare(fold, await listAllAccounts(db, opts.part));
}
