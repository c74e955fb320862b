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
import { foldForRead, type ReadFold } from '../domain/fold';
import type { GateAccount, ReadFoldSummary } from '../domain/gate';
import type { AccountState, BillingEvent, TimerFired } from '../domain/types';
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

/** A change the read folded in, with the provider's id of its event (a deadline: its dedupe key). */
interface Folded {
  event: BillingEvent;
  ref: string;
  pending: 'event' | 'deadline';
}

/** The events and deadlines the read folded, by event id. */
function foldedById(fold: ReadFold, rows: PendingEvent[]): Map<string, Folded> {
  const refOf = new Map(rows.map((r) => [r.id, r.ref]));
  const byId = new Map<string, Folded>();
  for (const { event } of fold.events)
    byId.set(event.event_id, {
      event,
      ref: refOf.get(event.event_id) ?? event.dedupe_key,
      pending: 'event',
    });
  for (const { event } of fold.deadlines)
    byId.set(event.event_id, { event, ref: event.dedupe_key, pending: 'deadline' });
  return byId;
}

function answered(f: Folded): AnsweredEvent {
  const e = f.event;
  return {
    id: f.pending === 'deadline' ? null : e.event_id,
    source: e.source,
    event_type: e.event_type,
    dedupe_key: e.dedupe_key,
    occurred_at: e.occurred_at,
    pending: f.pending,
  };
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
  const summary = summaryOf(fold, pending, account?.last_event_id ?? null);
  const state = fold.state;
  if (state === null) {
    const none = { created_at: null, updated_at: null, last_event: null, status_event: null };
    return { state: null, ...none, summary };
  }
  const folded = foldedById(fold, pending);
  const last = folded.get(state.last_event_id ?? '');
  const status = folded.get(state.status_event_id ?? '');
  // A deadline's timer event is not stored yet: it has no id to give.
  const stored = (f: Folded | undefined, id: string | null) =>
    f?.pending === 'deadline' ? null : id;
  const projectionLast = account?.last_event ? { ...account.last_event, pending: null } : null;
  return {
    state: {
      ...state,
      last_event_id: stored(last, state.last_event_id),
      status_event_id: stored(status, state.status_event_id),
    },
    created_at: account?.created_at ?? null,
    updated_at: account?.updated_at ?? null,
    last_event: last ? answered(last) : projectionLast,
    status_event: status
      ? { ref: status.ref, pending: status.pending }
      : { ref: account?.status_event_ref ?? null, pending: null },
    summary,
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
    status_event_id: s.status_event_id,
    grace_until: s.grace_until,
    status_object: s.status_object ?? null,
    status_reason: s.status_reason ?? null,
    status_pending: read.status_event?.pending ?? null,
  };
}
