// The one story of an incoming event: resolve the account → store (idempotent) → deliver.
import type pg from 'pg';
import { findLinkedAccount } from '../db/queries/billing-accounts';
import { insertEvent, listPendingBefore, type StoredEvent } from '../db/queries/billing-events';
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
  // A processed duplicate is answered from what is stored.
  if (duplicate && event.outcome !== null)
    return { event, duplicate, delivery: 'processed', outcome: event.outcome };
  // An unprocessed one may be the provider's retry after this service died between commit and
  // signal: it is delivered again now (the workflow ignores a second copy).
  const sent = await deliverInOrder(deps, event);
  return {
    event,
    duplicate,
    delivery: sent === 'delivered' ? 'accepted_by_workflow' : 'queued',
    outcome: event.outcome,
  };
}

/** Earlier unprocessed events of one account handed over before a webhook's event, at most. */
const PENDING_BEFORE_LIMIT = 20;

/**
 * Per-account order: the account's earlier events that are stored but unprocessed (their
 * process died before signalling them) go to the workflow first, oldest first, so a later event
 * can never overtake them and make them `stale`. When one of them cannot be handed over now,
 * this event waits too: the sweeper sends them all in order.
 */
async function deliverInOrder(
  deps: IngestDeps,
  event: StoredEvent,
): Promise<'delivered' | 'pending'> {
  const earlier = await listPendingBefore(deps.pool, {
    accountId: event.account_id,
    beforeId: event.id,
    limit: PENDING_BEFORE_LIMIT,
  });
  if (earlier.length === PENDING_BEFORE_LIMIT) return 'pending';
  for (const e of [...earlier, event]) {
    if ((await deps.delivery.deliverSoon(e)) !== 'delivered') return 'pending';
  }
  return 'delivered';
}
