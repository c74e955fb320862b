// Read your writes (SPEC §6): the account as if its workflow had applied every acknowledged event.
// The projection row and the account's stored but unprocessed events are read in one statement
// and folded with the workflow's own fold (src/domain/fold.ts), then the deadlines passed by `now`
// are honoured the way its timers would. Nothing is written: the workflow stays the only writer.
import type { Db } from '../db/pool';
import {
  getAccountWithPending,
  type LastEvent,
  type PendingEvent,
} from '../db/queries/account-reads';
import { toBillingEvent } from '../db/queries/billing-events';
import { foldForRead, type FoldStep, type ReadFold } from '../domain/fold';
import type { GateAccount, ReadFoldSummary } from '../domain/gate';
import type { AccountState, TimerFired } from '../domain/types';
import { countReadFold, type Metrics } from '../metrics';

/** Pending events one read folds at most; past that its answer says so instead of reading on. */
export const PENDING_FOLD_LIMIT = 1000;

type Projection = NonNullable<Awaited<ReturnType<typeof getAccountWithPending>>['account']>;

/** Where a folded change comes from: a pending event folded, or a deadline honoured. */
export type Pending = 'event' | 'deadline' | null;

/** The event that last changed the account; `id` is null for a deadline not stored yet. */
export type AnsweredEvent = Omit<LastEvent, 'id'> & { id: string | null; pending: Pending };

/** The event that set the status, for the gate's provenance. */
export interface StatusEvent {
  /** The provider's id (`evt_…`), or the dedupe key where the provider gives none. */
  ref: string | null;
  pending: Pending;
}

export interface AccountRead {
  /**
   * The account as if the workflow had applied every acknowledged event; null: no account.
   * Ids of events not stored yet (a deadline's timer) read null.
   */
  state: AccountState | null;
  created_at: string | null;
  updated_at: string | null;
  last_event: AnsweredEvent | null;
  status_event: StatusEvent | null;
  summary: ReadFoldSummary;
}

/** The events the read folded, by id, with the row each came from (none for a deadline). */
function foldedById(fold: ReadFold, rows: PendingEvent[]) {
  const rowOf = new Map(rows.map((r) => [r.id, r]));
  const byId = new Map<string, { step: FoldStep; row: PendingEvent | null }>();
  for (const step of [...fold.events, ...fold.deadlines])
    byId.set(step.event.event_id, { step, row: rowOf.get(step.event.event_id) ?? null });
  return byId;
}

function summaryOf(fold: ReadFold, rows: PendingEvent[], asOf: string | null): ReadFoldSummary {
  const cut = fold.not_folded
    ? { id: fold.not_folded.event.event_id, reason: fold.not_folded.reason }
    : rows.length > PENDING_FOLD_LIMIT
      ? { id: rows[PENDING_FOLD_LIMIT]?.id ?? '', reason: 'too_many_pending' as const }
      : null;
  const cutRow = cut && rows.find((r) => r.id === cut.id);
  return {
    pending_events_folded: fold.events.length,
    deadlines_passed: fold.deadlines.map((s) => {
      const { timer, due_at } = s.event.data as TimerFired;
      return { timer, due_at };
    }),
    pending_event_not_folded:
      cut && cutRow
        ? {
            event_id: cutRow.id,
            event: cutRow.ref,
            event_type: cutRow.event_type,
            reason: cut.reason,
          }
        : null,
    as_of_event_id: fold.events.at(-1)?.event.event_id ?? asOf,
  };
}

/** The projection row as the domain's state: without the columns of the view. */
function stateOf(projection: Projection): AccountState {
  const {
    created_at: _c,
    updated_at: _u,
    last_event: _l,
    status_event_ref: _r,
    ...state
  } = projection;
  return state;
}

export interface ReadDeps {
  pool: Db;
  metrics?: Metrics;
}

/**
 * The account's projection with its pending events and passed deadlines folded in, at `now`;
 * counted in /metrics as a read by `reader` when it folded anything.
 */
export async function readAccount(
  deps: ReadDeps,
  accountId: string,
  now: Date,
  reader: 'gate' | 'account',
): Promise<AccountRead> {
  const read = await foldedRead(deps.pool, accountId, now);
  if (deps.metrics) countReadFold(deps.metrics, reader, read.summary);
  return read;
}

async function foldedRead(db: Db, accountId: string, now: Date): Promise<AccountRead> {
  const { account, pending } = await getAccountWithPending(db, accountId, PENDING_FOLD_LIMIT + 1);
  const events = pending.slice(0, PENDING_FOLD_LIMIT).map(toBillingEvent);
  const fold = foldForRead(account && stateOf(account), events, now);
  const byId = foldedById(fold, pending);
  const pendingOf = (id: string | null): Pending => {
    const f = id === null ? undefined : byId.get(id);
    return f === undefined ? null : f.row === null ? 'deadline' : 'event';
  };
  const state = fold.state;
  if (state === null) {
    return {
      state: null,
      created_at: null,
      updated_at: null,
      last_event: null,
      status_event: null,
      summary: summaryOf(fold, pending, null),
    };
  }
  const last = byId.get(state.last_event_id ?? '');
  const statusOf = byId.get(state.status_event_id ?? '');
  const storedId = (id: string | null) => (pendingOf(id) === 'deadline' ? null : id);
  return {
    state: {
      ...state,
      last_event_id: storedId(state.last_event_id),
      status_event_id: storedId(state.status_event_id),
    },
    created_at: account?.created_at ?? null,
    updated_at: account?.updated_at ?? null,
    last_event: last
      ? {
          id: storedId(last.step.event.event_id),
          source: last.step.event.source,
          event_type: last.step.event.event_type,
          dedupe_key: last.step.event.dedupe_key,
          occurred_at: last.step.event.occurred_at,
          pending: pendingOf(last.step.event.event_id),
        }
      : account?.last_event
        ? { ...account.last_event, pending: null }
        : null,
    status_event: statusOf
      ? {
          ref: statusOf.row?.ref ?? statusOf.step.event.dedupe_key,
          pending: pendingOf(state.status_event_id),
        }
      : { ref: account?.status_event_ref ?? null, pending: null },
    summary: summaryOf(fold, pending, account?.last_event_id ?? null),
  };
}

/** The gate's facts about the account as read. */
export function gateAccountOf(read: AccountRead): GateAccount | null {
  const s = read.state;
  if (s === null) return null;
  return {
    status: s.status,
    status_since: s.status_since,
    status_event_ref: read.status_event?.ref ?? null,
    grace_until: s.grace_until,
    status_object: s.status_object ?? null,
    status_reason: s.status_reason ?? null,
    status_pending: read.status_event?.pending ?? null,
  };
}
