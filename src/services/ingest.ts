// The one story of an incoming event: resolve the account → store (idempotent) → deliver.
import type pg from 'pg';
import { findLinkedAccount } from '../db/queries/billing-accounts';
import { insertEvent, type StoredEvent } from '../db/queries/billing-events';
import { checkAccountId } from '../domain/account-id';
import type { NormalizedEvent, Outcome } from '../domain/types';
import type { EventDelivery } from '../temporal/delivery';

export interface IngestDeps {
  pool: pg.Pool;
  delivery: EventDelivery;
}

/**
 * Where the event stands when the webhook is answered:
 * - `processed`: already applied (or found stale, ignored…) by its account workflow; `outcome`
 *   says how. Only a duplicate can be here.
 * - `accepted_by_workflow`: Temporal accepted the signal; the workflow applies it shortly.
 * - `queued`: stored, not yet handed to Temporal; the delivery sweeper sends it.
 */
export type DeliveryState = 'processed' | 'accepted_by_workflow' | 'queued';

export interface IngestResult {
  event: StoredEvent;
  duplicate: boolean;
  delivery: DeliveryState;
  /** The stored outcome (`applied`, `stale`, …), null until the workflow has processed it. */
  outcome: Outcome | null;
}

/**
 * Account resolution, in SPEC §3 order. Every id that comes from the payload passes the one
 * account-id rule (src/domain/account-id.ts): a bad one is a 400, never a stored event.
 */
export async function resolveAccountId(pool: pg.Pool, e: NormalizedEvent): Promise<string> {
  const hint = e.account_hint;
  if (hint.explicit_account_id)
    return checkAccountId(hint.explicit_account_id, 'metadata.account_id or client_reference_id');
  const linked = await findLinkedAccount(pool, {
    stripeCustomerId: hint.stripe_customer_id,
    myaspUserId: hint.myasp_user_id,
  });
  if (linked) return linked;
  if (hint.stripe_customer_id)
    return checkAccountId(
      `stripe:${hint.stripe_customer_id}`,
      'the customer id (stripe:<customer>)',
    );
  if (hint.myasp_user_id)
    return checkAccountId(`myasp:${hint.myasp_user_id}`, 'the user id (myasp:<user id>)');
  return `${e.source}:unattributed`;
}

export async function ingestEvent(
  deps: IngestDeps,
  e: NormalizedEvent,
  payload: unknown,
  accountId?: string,
): Promise<IngestResult> {
  const account_id =
    accountId === undefined
      ? await resolveAccountId(deps.pool, e)
      : checkAccountId(accountId, 'the request');
  const { event, duplicate } = await insertEvent(deps.pool, {
    source: e.source,
    dedupe_key: e.dedupe_key,
    event_type: e.event_type,
    account_id,
    occurred_at: e.occurred_at,
    object_key: e.object_key,
    payload,
    data: e.data,
  });
  // A duplicate is answered from what is stored: done, or on its way (the first request or the
  // sweeper delivers it).
  if (duplicate) {
    const delivery = event.outcome === null ? 'queued' : 'processed';
    return { event, duplicate, delivery, outcome: event.outcome };
  }
  const sent = await deps.delivery.deliverSoon(event);
  return {
    event,
    duplicate,
    delivery: sent === 'delivered' ? 'accepted_by_workflow' : 'queued',
    outcome: event.outcome,
  };
}
