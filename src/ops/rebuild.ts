// rebuild-projection (SPEC §7): fold the pure transition over every processed event, in the
// order the workflows processed them, and compare the result with billing_accounts column by
// column. Because the transition reads no clock, the fold must reproduce the projection exactly;
// any difference is a defect (or a hand edit) to investigate, and --apply writes the rebuilt rows.
import type pg from 'pg';

import { withTransaction } from '../db/pool';
import { listAllAccounts, lockAccountRow, upsertAccount } from '../db/queries/billing-accounts';
import {
  type FoldedEvent,
  listProcessedEvents,
  toBillingEvent,
} from '../db/queries/billing-events';
import { countProcessedEvents, lastProcessedSeq } from '../db/queries/billing-events-checks';
import { transition } from '../domain/transition';
import type { AccountState, Outcome } from '../domain/types';

export interface RebuildOptions {
  apply: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Events read per query (default 5000). */
  pageSize?: number;
}

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

export interface RebuildResult {
  /** Nothing differs (or, with apply, everything that differed was rewritten). */
  ok: boolean;
  applied_changes: boolean;
  events: number;
  /** Accounts the events produce. */
  accounts: number;
  matching: number;
  differing: ColumnDiff[];
  /** Accounts the events produce that have no billing_accounts row. */
  missing: string[];
  /** billing_accounts rows no processed event produces. Never deleted, only reported. */
  extra: string[];
  /** Events whose stored outcome differs from what the transition decides today. */
  outcome_mismatches: OutcomeMismatch[];
  /** With apply: accounts rewritten, and accounts left alone because an event arrived meanwhile. */
  written: string[];
  skipped: string[];
}

interface Fold {
  states: Map<string, AccountState | null>;
  lastSeq: Map<string, string>;
  mismatches: OutcomeMismatch[];
  events: number;
}

function foldOne(fold: Fold, row: FoldedEvent): void {
  const before = fold.states.get(row.account_id) ?? null;
  const decision = transition(before, toBillingEvent(row));
  if (decision.outcome !== row.outcome) {
    fold.mismatches.push({
      event_id: row.id,
      account_id: row.account_id,
      stored: row.outcome,
      rebuilt: decision.outcome,
    });
  }
  fold.states.set(row.account_id, decision.outcome === 'applied' ? decision.state : before);
  if (row.processed_seq !== null) fold.lastSeq.set(row.account_id, row.processed_seq);
  fold.events += 1;
}

async function foldProcessedEvents(pool: pg.Pool, opts: RebuildOptions): Promise<Fold> {
  const fold: Fold = { states: new Map(), lastSeq: new Map(), mismatches: [], events: 0 };
  const total = await countProcessedEvents(pool);
  const limit = opts.pageSize ?? 5000;
  let afterSeq: string | undefined;
  opts.onProgress?.(0, total);
  for (;;) {
    const page = await listProcessedEvents(pool, { afterSeq, limit });
    for (const row of page) foldOne(fold, row);
    if (page.length > 0) opts.onProgress?.(fold.events, Math.max(total, fold.events));
    if (page.length < limit) return fold;
    afterSeq = page[page.length - 1]?.processed_seq ?? undefined;
  }
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

interface Comparison {
  differing: ColumnDiff[];
  toWrite: AccountState[];
  matching: number;
  missing: string[];
  extra: string[];
  seenLastEvent: Map<string, string | null>;
}

function compare(rebuilt: AccountState[], projection: AccountState[]): Comparison {
  const rows = new Map(projection.map((p) => [p.account_id, p]));
  const c: Comparison = {
    differing: [],
    toWrite: [],
    matching: 0,
    missing: [],
    extra: [],
    seenLastEvent: new Map(),
  };
  for (const state of rebuilt) {
    const row = rows.get(state.account_id);
    c.seenLastEvent.set(state.account_id, row?.last_event_id ?? null);
    const diffs = row ? diffAccount(row, state) : [];
    if (!row) c.missing.push(state.account_id);
    if (diffs.length > 0) c.differing.push(...diffs);
    if (!row || diffs.length > 0) c.toWrite.push(state);
    else c.matching += 1;
  }
  const produced = new Set(rebuilt.map((s) => s.account_id));
  c.extra = projection.filter((p) => !produced.has(p.account_id)).map((p) => p.account_id);
  return c;
}

/**
 * Writes the rebuilt rows in one transaction. An account whose row or events moved since the
 * fold (a workflow applied an event meanwhile) is skipped: its workflow's write is newer.
 */
async function writeRebuilt(
  pool: pg.Pool,
  c: Comparison,
  fold: Fold,
): Promise<{ written: string[]; skipped: string[] }> {
  return withTransaction(pool, async (client) => {
    const written: string[] = [];
    const skipped: string[] = [];
    for (const state of c.toWrite) {
      const id = state.account_id;
      const rowLast = await lockAccountRow(client, id);
      const seq = await lastProcessedSeq(client, id);
      if (rowLast !== (c.seenLastEvent.get(id) ?? null) || seq !== (fold.lastSeq.get(id) ?? null)) {
        skipped.push(id);
        continue;
      }
      await upsertAccount(client, state);
      written.push(id);
    }
    return { written, skipped };
  });
}

export async function rebuildProjection(
  pool: pg.Pool,
  opts: RebuildOptions,
): Promise<RebuildResult> {
  const fold = await foldProcessedEvents(pool, opts);
  const rebuilt = [...fold.states.values()].filter((s): s is AccountState => s !== null);
  const c = compare(rebuilt, await listAllAccounts(pool));
  const changes = c.toWrite.length > 0;
  const { written, skipped } =
    opts.apply && changes ? await writeRebuilt(pool, c, fold) : { written: [], skipped: [] };
  const clean = !changes || (opts.apply && skipped.length === 0);
  return {
    ok: clean && c.extra.length === 0,
    applied_changes: written.length > 0,
    events: fold.events,
    accounts: rebuilt.length,
    matching: c.matching,
    differing: c.differing,
    missing: c.missing,
    extra: c.extra,
    outcome_mismatches: fold.mismatches,
    written,
    skipped,
  };
}
