// The one story of an incoming event: resolve the account → store (idempotent) → deliver.
import type pg from 'pg';

import type { Db } from '../db/pool';
import { insertEvent, type StoredEvent } from '../db/queries/billing-events';
import type { EventDelivery, Handover } from '../delivery/outbox';
import { checkAccountId, unattributedAccountId } from '../domain/account-id';
import type { NormalizedEvent, Outcome } from '../domain/types';

export interface IngestDeps {
  pool: pg.Pool;
  delivery: EventDelivery;
  /** The Stripe thin-event fetcher (src/services/thin-events.ts); absent without STRIPE_API_KEY. */
  thinEvents?: { poke(): void } | null;
}

/**
 * Where the event stands when the webhook is answered (docs/api.md): `processed` — already
 * applied (or found stale, ignored…) by its account workflow, `outcome` says how; only a
 * duplicate can be here — or how far the relay got it (Handover: `accepted_by_workflow`,
 * `sending`, `waiting_turn`, `queued`).
 */
export type DeliveryState = 'processed' | Handover;

export interface IngestResult {
  event: StoredEvent;
  duplicate: boolean;
  delivery: DeliveryState;
  /** The stored outcome (`applied`, `stale`, …), null until the workflow has processed it. */
  outcome: Outcome | null;
}

/**
 * Stores the event under its account (SPEC §3 resolution order) in one statement: an explicit id
 * as it is; otherwise the account linked to the customer or MyASP user, looked up inside the
 * INSERT, falling back to `stripe:<customer>` / `myasp:<user>`.
 */
export async function insertResolved(
  pool: Db,
  e: NormalizedEvent,
  row: Omit<Parameters<typeof insertEvent>[1], 'account_id'>,
): ReturnType<typeof insertEvent> {
  const hint = e.account_hint;
  if (hint.explicit_account_id)
    return insertEvent(pool, {
      ...row,
      account_id: checkAccountId(
        hint.explicit_account_id,
        'metadata.account_id or client_reference_id',
      ),
    });
  const fallback = hint.stripe_customer_id
    ? checkAccountId(`stripe:${hint.stripe_customer_id}`, 'the customer id (stripe:<customer>)')
    : hint.myasp_user_id
      ? checkAccountId(`myasp:${hint.myasp_user_id}`, 'the user id (myasp:<user id>)')
      : unattributedAccountId(e.source);
  return insertEvent(
    pool,
    { ...row, account_id: fallback },
    {
      stripeCustomerId: hint.stripe_customer_id,
      myaspUserId: hint.myasp_user_id,
      stripeSubscriptionId: hint.stripe_subscription_id ?? null,
    },
  );
}

export async function ingestEvent(
  deps: IngestDeps,
  e: NormalizedEvent,
  payload: unknown,
  accountId?: string,
): Promise<IngestResult> {
  const row = {
    source: e.source,
    dedupe_key: e.dedupe_key,
    event_type: e.event_type,
    occurred_at: e.occurred_at,
    object_key: e.object_key,
    payload,
    data: e.data,
  };
  const { event, duplicate } =
    accountId !== undefined
      ? await insertEvent(deps.pool, {
          ...row,
          account_id: checkAccountId(accountId, 'the request'),
        })
      : await insertResolved(deps.pool, e, row);
  // A processed duplicate is answered from what is stored.
  if (duplicate && event.outcome !== null)
    return { event, duplicate, delivery: 'processed', outcome: event.outcome };
  // A thin event waits for its fetch (SPEC §3 rule 11): the fetcher stores what it carries as an
  // event of its own and wakes that event's account; there is nothing to apply before.
  if (e.data.kind === 'stripe.thin_event') {
    deps.thinEvents?.poke();
    return { event, duplicate, delivery: 'queued', outcome: null };
  }
  // An unprocessed one may be the provider's retry after this service died between commit and
  // wake-up: the account is woken again now. A wake-up applies every stored, unprocessed event of
  // the account in id order, so an earlier event left behind by a crash is never overtaken.
  const delivery = await deps.delivery.deliverSoon(event);
  return { event, duplicate, delivery, outcome: event.outcome };
}
