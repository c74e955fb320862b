// The reads a host app makes (SPEC §6 "Read your writes"): the gate's inputs in one named
// statement, and an account's projection row with its stored but unprocessed events in one
// statement, so that a read can fold what the account's workflow has not applied yet.
import type { GateAccount, GateOverride } from '../../domain/gate';
import type { AccountState } from '../../domain/types';
import type { Db } from '../pool';
import { COLUMNS, type Row, toState } from './billing-accounts';
import type { DecisionInputs } from './billing-events';

export interface LastEvent {
  id: string;
  source: string;
  event_type: string;
  dedupe_key: string;
  occurred_at: string;
}

export interface AccountView extends AccountState {
  created_at: string;
  updated_at: string;
  last_event: LastEvent | null;
}

/** The provider's id of event `e` (`evt_…` for Stripe, MyASP's event id, else the dedupe key). */
const eventRef = (
  e: string,
) => `CASE WHEN ${e}.source = 'stripe' AND ${e}.dedupe_key LIKE 'stripe:%'
                 THEN substr(${e}.dedupe_key, 8)
                 ELSE COALESCE(${e}.payload->>'id', ${e}.payload->>'event_id', ${e}.dedupe_key)
            END`;

/** A timestamptz inside JSON, as the ISO-8601 string the pool's type parser gives for columns. */
const isoInJson = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A stored event its account workflow has not processed yet, as a read folds it (SPEC §6). */
export type PendingEvent = DecisionInputs & {
  /** The provider's id of the event (`evt_…`), for the answer to name it. */
  ref: string;
};

export interface AccountWithPending {
  account: (AccountView & { status_event_ref: string | null }) | null;
  /** The account's unprocessed events, oldest first, at most the limit asked for. */
  pending: PendingEvent[];
}

/**
 * The projection row and the account's stored but unprocessed events, in ONE statement, so both
 * come from the same snapshot: read apart, a batch committing in between would make an event
 * count twice or not at all. The pending rows come from the partial index of unprocessed events
 * per account (billing_events_account_pending_idx); `pendingLimit` 0 reads the row alone.
 */
export async function getAccountWithPending(
  db: Db,
  accountId: string,
  pendingLimit: number,
): Promise<AccountWithPending> {
  const r = await db.query<
    Row & {
      found: boolean;
      created_at: string;
      updated_at: string;
      last_event: LastEvent | null;
      status_event_ref: string | null;
      pending: PendingEvent[];
    }
  >(
    `SELECT a.account_id IS NOT NULL AS found,
            ${COLUMNS.split(',')
              .map((c) => 'a.' + c.trim())
              .join(', ')}, a.created_at, a.updated_at,
            CASE WHEN e.id IS NOT NULL THEN
              json_build_object('id', e.id::text, 'source', e.source, 'event_type', e.event_type,
                                'dedupe_key', e.dedupe_key, 'occurred_at', ${isoInJson('e.occurred_at')})
            END AS last_event,
            ${eventRef('s')} AS status_event_ref,
            p.pending
       FROM (SELECT $1::text AS account_id) AS wanted
       LEFT JOIN billing_accounts a ON a.account_id = wanted.account_id
       LEFT JOIN billing_events e ON e.id = a.last_event_id
       LEFT JOIN billing_events s ON s.id = a.status_event_id
       CROSS JOIN LATERAL (
         SELECT COALESCE(json_agg(json_build_object(
                  'id', q.id::text, 'source', q.source, 'dedupe_key', q.dedupe_key,
                  'event_type', q.event_type, 'account_id', q.account_id,
                  'occurred_at', ${isoInJson('q.occurred_at')}, 'object_key', q.object_key,
                  'data', q.data, 'ref', ${eventRef('q')}) ORDER BY q.id), '[]'::json) AS pending
           FROM (SELECT id, source, dedupe_key, event_type, account_id, occurred_at, object_key,
                        data, payload
                   FROM billing_events
                  WHERE account_id = $1::text AND outcome IS NULL
                  ORDER BY id LIMIT $2::int) AS q) AS p`,
    [accountId, pendingLimit],
  );
  const row = r.rows[0];
  if (!row?.found) return { account: null, pending: row?.pending ?? [] };
  const {
    found: _found,
    created_at,
    updated_at,
    last_event,
    status_event_ref,
    pending,
    ...columns
  } = row;
  return {
    account: { ...toState(columns), created_at, updated_at, last_event, status_event_ref },
    pending,
  };
}

/** The projection as stored, without what is still pending (the /ops page, a write's answer). */
export async function getAccountView(db: Db, accountId: string): Promise<AccountView | null> {
  const { account } = await getAccountWithPending(db, accountId, 0);
  if (!account) return null;
  const { status_event_ref: _ref, ...view } = account;
  return view;
}

/** The projection facts the gate reads, with the provider id of the event that set the status. */
export async function getGateAccount(db: Db, accountId: string): Promise<GateAccount | null> {
  return (await getGateInputs(db, accountId, { withOverrides: false, now: new Date() })).account;
}

export interface GateInputs {
  account: (GateAccount & { last_event_id: string | null }) | null;
  overrides: GateOverride[];
  /**
   * The projection alone may answer from before an acknowledged event: the account has stored
   * events its workflow has not processed, or its next deadline has passed by `now` (SPEC §6).
   */
  needs_fold: boolean;
}

/**
 * Everything one gate answer reads, in one statement on one connection: the projection row by
 * primary key; when the action is gated, the overrides in force for this account or all accounts
 * (partial index on live overrides); and whether the projection alone is enough — an unprocessed
 * event of the account (partial index of unprocessed events per account) or a deadline already
 * due makes the caller fold them in. The provider's event id of a Stripe event is its dedupe key
 * without the `stripe:` prefix, so the payload is read only for other sources. A named statement:
 * each connection parses and plans it once, not on every answer.
 */
export async function getGateInputs(
  db: Db,
  accountId: string,
  opts: { withOverrides: boolean; now: Date },
): Promise<GateInputs> {
  const r = await db.query<
    GateAccount & {
      found: boolean;
      last_event_id: string | null;
      overrides: GateOverride[];
      needs_fold: boolean;
    }
  >({
    name: 'gate-inputs',
    text: `SELECT a.account_id IS NOT NULL AS found, a.status, a.status_since, a.grace_until,
            a.status_object, a.status_reason, a.status_event_id, a.last_event_id,
            ${eventRef('e')} AS status_event_ref,
            o.overrides,
            COALESCE(a.next_deadline_at <= $3::timestamptz, false)
              OR EXISTS (SELECT 1 FROM billing_events p
                          WHERE p.account_id = $1::text AND p.outcome IS NULL) AS needs_fold
       FROM (SELECT $1::text AS account_id) AS wanted
       LEFT JOIN billing_accounts a ON a.account_id = wanted.account_id
       LEFT JOIN billing_events e ON e.id = a.status_event_id
       CROSS JOIN LATERAL (
         SELECT COALESCE(json_agg(json_build_object(
                  'id', g.id, 'account_id', g.account_id, 'actions', g.actions, 'reason', g.reason,
                  'expires_at', ${isoInJson('g.expires_at')})
                  ORDER BY g.created_at), '[]'::json) AS overrides
           FROM gate_overrides g
          WHERE $2::boolean AND g.cleared_at IS NULL AND g.expires_at > now()
            AND (g.account_id IS NULL OR g.account_id = $1::text)) AS o`,
    values: [accountId, opts.withOverrides, opts.now.toISOString()],
  });
  const row = r.rows[0];
  const needs_fold = row?.needs_fold ?? false;
  if (!row?.found) return { account: null, overrides: row?.overrides ?? [], needs_fold };
  const { found: _found, overrides, needs_fold: _fold, ...account } = row;
  return { account, overrides, needs_fold };
}
