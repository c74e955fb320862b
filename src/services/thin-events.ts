// Stripe thin events, after their 200 (SPEC §3 rule 11): fetch the full event and the related
// object with stripe-node's own `fetchEvent()` / `fetchRelatedObject()`, then, in one transaction,
// store them as the snapshot event of the same change (its own billing_events row under the
// snapshot event's dedupe key: a snapshot delivery of the same change, stored before or after,
// makes the second a duplicate) and write the thin event's outcome, `duplicate` — it is carried by
// that event — with its audit row. A rebuild folds the stored rows and calls no API.
//
// The fetch runs here, before any wake-up, not in the account workflow: a thin event names no
// account until its object is fetched (metadata, customer links), so it cannot be applied by an
// account's workflow before. Per account the oldest waiting thin event goes first, and the
// account's later events wait behind it (src/domain/fold.ts), so order is kept. At most
// `concurrency` fetches run at once; a 429 or 5xx (or no answer) leaves the event stored and
// waiting, retried after Retry-After or a doubling backoff: nothing is lost while Stripe is slow
// or down. A deleted object (404, or `deleted: true`) is stored as Stripe reports it.
import type pg from 'pg';
import Stripe from 'stripe';

import { withTransaction } from '../db/pool';
import { insertAudits } from '../db/queries/audit-logs';
import { type StoredEvent, toBillingEvent, writeOutcomes } from '../db/queries/billing-events';
import { listWaitingThinEvents } from '../db/queries/thin-events';
import { AppError } from '../domain/errors';
import { normalizeStripeEvent } from '../domain/normalize-stripe';
import { record } from '../domain/stripe/read-json';
import {
  fetchedSnapshotEvent,
  readThinNotification,
  type ThinNotification,
} from '../domain/stripe/thin';
import { transition } from '../domain/transition';
import type { NormalizedEvent } from '../domain/types';
import type { Logger } from '../log';
import { insertResolved } from './ingest';
import { retryAfterMs, stripeClientOptions, type StripeErrorLike } from './stripe-api';

export interface ThinFetcherOptions {
  apiKey: string;
  /** Another API base (stripe-mock, a stand-in); null: api.stripe.com. */
  apiUrl?: string | null;
  /** Fetches under way at most (each is two requests). Default 4. */
  concurrency?: number;
  /** Time between looks for waiting thin events. Default 1 s. */
  pollMs?: number;
  /** First backoff after a failed fetch without Retry-After; doubles, at most 5 min. */
  backoffMs?: number;
  pastDueGraceMs: number | null;
  /** Wakes the account of a stored event (the delivery relay's deliverSoon). */
  wake: (event: StoredEvent) => Promise<unknown>;
  logger: Logger;
  now?: () => Date;
}

/** What one fetch did, for tests and logs. */
export type ThinFetchResult =
  | { kind: 'stored'; thin: StoredEvent; carried_by: StoredEvent; duplicate: boolean }
  | { kind: 'retry_later'; thin: StoredEvent; wait_ms: number; reason: string };

const MAX_BACKOFF_MS = 5 * 60_000;

/** The related object, or Stripe's report of a deleted one after a 404. */
async function fetchObject(
  notification: Stripe.V2.Core.EventNotification,
  thin: ThinNotification,
): Promise<Record<string, unknown>> {
  try {
    const fetched = record(
      await (
        notification as unknown as { fetchRelatedObject(): Promise<unknown> }
      ).fetchRelatedObject(),
    );
    if (fetched !== null) return { ...fetched };
  } catch (err) {
    if ((err as StripeErrorLike).statusCode !== 404) throw err;
  }
  return { id: thin.related_object?.id ?? null, object: thin.related_object?.type, deleted: true };
}

/**
 * The fetched change as a stored event: the snapshot event it stands for, read like a webhook.
 * An object this service cannot read (a deleted stub of a handled type, a shape it does not know)
 * is kept as `unhandled`: stored and audited, never fetched again and again.
 */
function normalizeFetched(
  thin: ThinNotification,
  fullEvent: unknown,
  object: Record<string, unknown>,
  fetchedAt: Date,
  pastDueGraceMs: number | null,
): { normalized: NormalizedEvent; payload: unknown } {
  const envelope = fetchedSnapshotEvent({
    thin,
    fullEvent,
    object,
    fetchedAtSeconds: Math.floor(fetchedAt.getTime() / 1000),
  });
  const payload = { ...envelope, full_event: fullEvent };
  // The object's version is the fetch instant, to the millisecond: two fetches of one object are
  // never "the same second", the later one is the newer state.
  const at = fetchedAt.toISOString();
  try {
    const normalized = normalizeStripeEvent(envelope, { pastDueGraceMs });
    return { normalized: { ...normalized, occurred_at: at }, payload };
  } catch (err) {
    // Stored all the same, as `unhandled` (ignored, audited): retrying would fetch the same object.
    if (!(err instanceof AppError)) throw err;
    const stub = { ...envelope, data: { object: { id: object.id, object: object.object } } };
    const normalized = normalizeStripeEvent(
      { ...stub, type: 'deleted_object' },
      { pastDueGraceMs },
    );
    return {
      normalized: { ...normalized, event_type: String(envelope.type), occurred_at: at },
      payload,
    };
  }
}

export class ThinEventFetcher {
  private readonly stripe: Stripe;
  private readonly concurrency: number;
  private readonly backoffMs: number;
  private readonly notBefore = new Map<string, { at: number; attempts: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: ThinFetcherOptions,
  ) {
    this.stripe = new Stripe(opts.apiKey, {
      ...stripeClientOptions(opts.apiUrl),
      maxNetworkRetries: 0,
    });
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.backoffMs = opts.backoffMs ?? 1000;
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  start(): void {
    const tick = () => {
      this.poke();
      this.timer = setTimeout(tick, this.opts.pollMs ?? 1000);
      this.timer.unref();
    };
    tick();
  }

  /** Look for waiting thin events now (a new one was stored). Never throws. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(() => undefined)
      .catch((err: unknown) =>
        this.opts.logger.warn({ err: String(err) }, 'thin events could not be fetched this round'),
      )
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.poke();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Fetches every waiting thin event that is due (the oldest of each account), `concurrency` at a time. */
  async drain(): Promise<ThinFetchResult[]> {
    const results: ThinFetchResult[] = [];
    for (;;) {
      const due = (await listWaitingThinEvents(this.pool, 500)).filter(
        (e) => (this.notBefore.get(e.id)?.at ?? 0) <= this.now().getTime(),
      );
      if (due.length === 0 || this.stopped) return results;
      const queue = [...due];
      const worker = async () => {
        for (let e = queue.shift(); e; e = queue.shift()) results.push(await this.fetchOne(e));
      };
      await Promise.all(Array.from({ length: this.concurrency }, worker));
      if (due.every((e) => this.notBefore.has(e.id))) return results;
    }
  }

  /** One thin event: fetched and stored, or left waiting with its next attempt time. */
  async fetchOne(thinRow: StoredEvent): Promise<ThinFetchResult> {
    const thin = readThinNotification(thinRow.payload);
    try {
      const notification = this.stripe.parseEventNotificationWithoutVerification(
        JSON.stringify(thinRow.payload),
      );
      const fullEvent = await (
        notification as unknown as { fetchEvent(): Promise<unknown> }
      ).fetchEvent();
      const fetchedAt = this.now();
      const object = await fetchObject(notification, thin);
      const { normalized, payload } = normalizeFetched(
        thin,
        fullEvent,
        object,
        fetchedAt,
        this.opts.pastDueGraceMs,
      );
      const stored = await this.store(thinRow, normalized, payload);
      this.notBefore.delete(thinRow.id);
      await this.opts.wake(stored.carried_by);
      if (stored.carried_by.account_id !== thinRow.account_id) await this.opts.wake(thinRow);
      return stored;
    } catch (err) {
      const e = err as StripeErrorLike;
      const previous = this.notBefore.get(thinRow.id)?.attempts ?? 0;
      const wait = Math.min(retryAfterMs(e) ?? this.backoffMs * 2 ** previous, MAX_BACKOFF_MS);
      this.notBefore.set(thinRow.id, { at: this.now().getTime() + wait, attempts: previous + 1 });
      const reason = (e?.message ?? String(err)).split('\n')[0] ?? 'unknown';
      this.opts.logger.warn(
        { event_id: thinRow.id, thin_event: thin.id, status: e?.statusCode ?? null, wait_ms: wait },
        `a Stripe thin event could not be fetched yet; it stays stored and is fetched again: ${reason}`,
      );
      return { kind: 'retry_later', thin: thinRow, wait_ms: wait, reason };
    }
  }

  /**
   * In one transaction, under the thin event's account lock (the one its workflow's batch takes):
   * the fetched change stored once, and the thin event's `duplicate` outcome and audit row.
   */
  private async store(
    thinRow: StoredEvent,
    normalized: NormalizedEvent,
    payload: unknown,
  ): Promise<Extract<ThinFetchResult, { kind: 'stored' }>> {
    return withTransaction(this.pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, [
        `billing-account:${thinRow.account_id}`,
      ]);
      const taken = await client.query<{ outcome: string | null }>(
        'SELECT outcome FROM billing_events WHERE id = $1::bigint FOR UPDATE',
        [thinRow.id],
      );
      const alreadyDone = (taken.rows[0]?.outcome ?? null) !== null;
      const { event: carrier, duplicate } = await insertResolved(client, normalized, {
        source: normalized.source,
        dedupe_key: normalized.dedupe_key,
        event_type: normalized.event_type,
        occurred_at: normalized.occurred_at,
        object_key: normalized.object_key,
        payload,
        data: normalized.data,
      });
      // Another process stored this fetch first: its outcome and audit row stand.
      if (alreadyDone)
        return { kind: 'stored', thin: thinRow, carried_by: carrier, duplicate: true };
      const status = await client.query<{ status: string }>(
        'SELECT status FROM billing_accounts WHERE account_id = $1::text',
        [thinRow.account_id],
      );
      const current = status.rows[0]?.status ?? null;
      const decision = transition(null, toBillingEvent(thinRow));
      await writeOutcomes(client, [{ id: thinRow.id, outcome: decision.outcome }]);
      await insertAudits(client, [
        {
          account_id: thinRow.account_id,
          action: decision.audit.action,
          actor_role: decision.audit.actor_role,
          actor: decision.audit.actor,
          event_id: thinRow.id,
          from_status: current,
          to_status: current,
          details: {
            outcome: decision.outcome,
            ...decision.audit.details,
            carried_by_event_id: carrier.id,
            carried_by: carrier.dedupe_key,
            carrier_stored_before: duplicate,
            carrier_account_id: carrier.account_id,
          },
        },
      ]);
      return { kind: 'stored', thin: thinRow, carried_by: carrier, duplicate };
    });
  }
}
