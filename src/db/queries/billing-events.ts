import type { BillingEvent, NormalizedEvent, Outcome } from '../../domain/types';
import type { Db } from '../pool';
import { ACCOUNT_PART_HASH, type AccountPart } from './account-part';

/** A normalized event once its account is resolved, with the provider's payload as received. */
export type NewEvent = Omit<NormalizedEvent, 'account_hint'> & {
  account_id: string;
  payload: unknown;
};

export interface StoredEvent extends NewEvent {
  id: string;
  received_at: string;
  outcome: Outcome | null;
  processed_at: string | null;
  processed_seq: string | null;
}

const COLUMNS = `id, source, dedupe_key, event_type, account_id, occurred_at, received_at, object_key,
  payload, data, outcome, processed_at, processed_seq`;

/** Provider ids that may already be linked to an account (SPEC §3 account resolution). */
export interface AccountLink {
  stripeCustomerId?: string | null;
  myaspUserId?: string | null;
  /** A Stripe subscription the account already holds (a thin event names only its object). */
  stripeSubscriptionId?: string | null;
}

/**
 * Stores an event once. A second insert with the same dedupe_key returns the first row. With
 * `link`, the account is the one already linked to those provider ids, else `e.account_id`:
 * the lookup is part of the INSERT, so a webhook costs one round trip.
 */
export async function insertEvent(
  db: Db,
  e: NewEvent,
  link?: AccountLink,
): Promise<{ event: StoredEvent; duplicate: boolean }> {
  const linked = link && (link.stripeCustomerId || link.myaspUserId || link.stripeSubscriptionId);
  const account = linked
    ? `COALESCE((SELECT account_id FROM billing_accounts
                  WHERE ($9::text IS NOT NULL AND stripe_customer_id = $9::text)
                     OR ($10::text IS NOT NULL AND myasp_user_id = $10::text)
                     OR ($11::text IS NOT NULL AND (stripe_subscription_id = $11::text
                          OR object_versions ? ('stripe:' || $11::text)))
                  ORDER BY updated_at DESC LIMIT 1), $4::text)`
    : '$4::text';
  const inserted = await db.query<StoredEvent>(
    `INSERT INTO billing_events (source, dedupe_key, event_type, account_id, occurred_at, object_key, payload, data)
     VALUES ($1::text, $2::text, $3::text, ${account}, $5::timestamptz, $6::text, $7::jsonb, $8::jsonb)
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      e.source,
      e.dedupe_key,
      e.event_type,
      e.account_id,
      e.occurred_at,
      e.object_key,
      JSON.stringify(e.payload),
      JSON.stringify(e.data),
      ...(linked
        ? [
            link.stripeCustomerId ?? null,
            link.myaspUserId ?? null,
            link.stripeSubscriptionId ?? null,
          ]
        : []),
    ],
  );
  const row = inserted.rows[0];
  if (row) return { event: row, duplicate: false };
  const existing = await findEventByDedupeKey(db, e.dedupe_key);
  if (!existing)
    throw new Error(`Event ${e.dedupe_key} conflicted on insert but could not be read back.`);
  return { event: existing, duplicate: true };
}

export async function findEventByDedupeKey(db: Db, dedupeKey: string): Promise<StoredEvent | null> {
  const r = await db.query<StoredEvent>(
    `SELECT ${COLUMNS} FROM billing_events WHERE dedupe_key = $1::text`,
    [dedupeKey],
  );
  return r.rows[0] ?? null;
}

export async function listAccountEvents(
  db: Db,
  accountId: string,
  limit = 200,
): Promise<StoredEvent[]> {
  const r = await db.query<StoredEvent>(
    `SELECT ${COLUMNS} FROM billing_events WHERE account_id = $1::text ORDER BY id DESC LIMIT $2::int`,
    [accountId, limit],
  );
  return r.rows;
}

/** What the account workflow decides from: an event as delivered, without its payload. */
export type DecisionInputs = Pick<
  StoredEvent,
  | 'id'
  | 'source'
  | 'dedupe_key'
  | 'event_type'
  | 'account_id'
  | 'occurred_at'
  | 'object_key'
  | 'data'
>;

/** What a fold reads of an event: the decision's inputs and the stored outcome, not the payload. */
export type FoldedEvent = DecisionInputs &
  Pick<StoredEvent, 'outcome' | 'processed_seq'> & {
    /**
     * With `registrationDefaults`: on an `account.registered` row, whether the host app gave no
     * trial (neither `trial_end` nor `trial_days`), so DEFAULT_TRIAL_DAYS decided it.
     */
    default_trial?: boolean | null;
  };

/** Which processed events to read, beyond the share and the range of processed_seq. */
export interface FoldedEventFilter {
  /** Only events the service had processed by this instant (ISO-8601): the log as of then. */
  processedBy?: string | null;
  /** Only this account's events. */
  accountId?: string | null;
  /** Add `default_trial` (reads the payload of registrations only). */
  registrationDefaults?: boolean;
}

const DEFAULT_TRIAL_COLUMN = `CASE WHEN event_type = 'account.registered'
              THEN payload->>'trial_end' IS NULL AND payload->>'trial_days' IS NULL END AS default_trial`;

/**
 * Processed events of one share of the accounts with processed_seq in (afterSeq, uptoSeq], in the
 * order the workflows processed them. The provider payload is left out: the transition reads
 * `data`, and payloads are most of the bytes. A range rather than a LIMIT: with the share's filter
 * the planner cannot tell how far a LIMIT reaches, and over a million events it sorted the rest of
 * the table for every page.
 */
export async function listProcessedEventsInRange(
  db: Db,
  opts: { afterSeq: string; uptoSeq: string; part: AccountPart } & FoldedEventFilter,
): Promise<FoldedEvent[]> {
  const r = await db.query<FoldedEvent>(
    `SELECT id, source, dedupe_key, event_type, account_id, occurred_at, object_key, data,
            outcome, processed_seq${opts.registrationDefaults ? `, ${DEFAULT_TRIAL_COLUMN}` : ''}
       FROM billing_events
      WHERE processed_seq > $1::bigint AND processed_seq <= $2::bigint
        AND ${ACCOUNT_PART_HASH} % $3::int = $4::int
        AND ($5::timestamptz IS NULL OR processed_at <= $5::timestamptz)
        AND ($6::text IS NULL OR account_id = $6::text)
      ORDER BY processed_seq`,
    [
      opts.afterSeq,
      opts.uptoSeq,
      opts.part.count,
      opts.part.index,
      opts.processedBy ?? null,
      opts.accountId ?? null,
    ],
  );
  return r.rows;
}

/** Where the provider's ids of some events are needed (what-if's examples): id → its fields. */
export async function describeEvents(
  db: Db,
  ids: readonly string[],
): Promise<Map<string, { dedupe_key: string; event_type: string; occurred_at: string }>> {
  if (ids.length === 0) return new Map();
  const r = await db.query<{
    id: string;
    dedupe_key: string;
    event_type: string;
    occurred_at: Date | string;
  }>(
    `SELECT id::text, dedupe_key, event_type, occurred_at FROM billing_events
      WHERE id = ANY($1::bigint[])`,
    [ids],
  );
  return new Map(
    r.rows.map((e) => [
      e.id,
      {
        dedupe_key: e.dedupe_key,
        event_type: e.event_type,
        occurred_at: new Date(e.occurred_at).toISOString(),
      },
    ]),
  );
}

/** The newest processed_seq ('0' when nothing is processed). */
export async function maxProcessedSeq(db: Db): Promise<string> {
  const r = await db.query<{ seq: string }>(
    `SELECT COALESCE(max(processed_seq), 0)::text AS seq FROM billing_events`,
  );
  return r.rows[0]?.seq ?? '0';
}

export async function findEventById(db: Db, id: string): Promise<StoredEvent | null> {
  const r = await db.query<StoredEvent>(
    `SELECT ${COLUMNS} FROM billing_events WHERE id = $1::bigint`,
    [id],
  );
  return r.rows[0] ?? null;
}

/**
 * Stored events not yet processed, not dead-lettered and not delivered recently: what the
 * delivery sweeper sends, oldest first. Per account: an event whose last attempt failed backs off
 * (2^attempts s, at most 5 min), and the account's later events wait behind it so they still
 * reach the workflow in order; other accounts are not held up by it.
 */
export async function listUndelivered(
  db: Db,
  opts: { minAgeMs: number; limit: number },
): Promise<StoredEvent[]> {
  const r = await db.query<StoredEvent>(
    `WITH pending AS (
       SELECT ${COLUMNS.split(',')
         .map((c) => 'e.' + c.trim())
         .join(', ')},
              d.last_attempt_at,
              d.last_attempt_at >= now() - make_interval(secs => LEAST(300, power(2, LEAST(d.attempts, 8))))
                AS recently_attempted,
              d.last_error IS NOT NULL AS last_failed
         FROM billing_events e
         LEFT JOIN event_deliveries d ON d.event_id = e.id
        WHERE e.outcome IS NULL
          AND d.dead_at IS NULL
          -- A thin event waits for its fetch (src/services/thin-events.ts), not for a wake-up.
          AND e.data->>'kind' IS DISTINCT FROM 'stripe.thin_event'
          AND e.received_at < now() - make_interval(secs => $1::double precision / 1000)
     ), per_account AS (
       SELECT *, COALESCE(bool_or(recently_attempted AND last_failed)
                   OVER (PARTITION BY account_id ORDER BY id), false) AS account_backing_off
         FROM pending
     )
     SELECT ${COLUMNS}
       FROM per_account
      WHERE NOT account_backing_off AND recently_attempted IS NOT TRUE
      ORDER BY id
      LIMIT $2::int`,
    [opts.minAgeMs, opts.limit],
  );
  return r.rows;
}

export function toBillingEvent(row: DecisionInputs): BillingEvent {
  return {
    event_id: String(row.id),
    source: row.source,
    dedupe_key: row.dedupe_key,
    event_type: row.event_type,
    account_id: row.account_id,
    occurred_at: row.occurred_at,
    object_key: row.object_key,
    data: row.data,
  };
}

/**
 * The account's unprocessed events, oldest first, locked for the transaction that applies them.
 * One more row than `limit` tells the caller that more are waiting.
 */
export async function lockPendingEvents(
  db: Db,
  accountId: string,
  limit: number,
): Promise<StoredEvent[]> {
  const r = await db.query<StoredEvent>(
    `SELECT ${COLUMNS} FROM billing_events
      WHERE account_id = $1::text AND outcome IS NULL
      ORDER BY id
      LIMIT $2::int
      FOR UPDATE`,
    [accountId, limit],
  );
  return r.rows;
}

/**
 * The account's highest processed event id (null: none), for an apply that found nothing pending.
 * Processed only: an event committed since the batch looked is not reported as applied.
 */
export async function latestProcessedEventId(db: Db, accountId: string): Promise<string | null> {
  const r = await db.query<{ id: string }>(
    `SELECT id FROM billing_events
      WHERE account_id = $1::text AND outcome IS NOT NULL
      ORDER BY id DESC LIMIT 1`,
    [accountId],
  );
  return r.rows[0]?.id ?? null;
}

/**
 * Writes the outcomes of a batch, once each, in the order given: processed_seq follows that
 * order, so a rebuild folds the events exactly as they were applied.
 */
export async function writeOutcomes(
  db: Db,
  outcomes: readonly { id: string; outcome: Outcome }[],
): Promise<void> {
  if (outcomes.length === 0) return;
  await db.query(
    `WITH seqs AS (
       SELECT array_agg(s ORDER BY s) AS s
         FROM (SELECT nextval('billing_events_processed_seq') AS s
                 FROM generate_series(1, cardinality($1::bigint[]))) n
     )
     UPDATE billing_events e
        SET outcome = v.outcome, processed_at = now(), processed_seq = (SELECT s FROM seqs)[v.ord]
       FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS v(id, outcome, ord)
      WHERE e.id = v.id AND e.outcome IS NULL`,
    [outcomes.map((o) => o.id), outcomes.map((o) => o.outcome)],
  );
}
