// The one story of an incoming event: resolve the account → store (idempotent) → deliver.
import type pg from 'pg';
import { findLinkedAccount } from '../db/queries/billing-accounts';
import { insertEvent, type StoredEvent } from '../db/queries/billing-events';
import { checkAccountId } from '../domain/account-id';
import type { NormalizedEvent } from '../domain/types';
import type { EventDelivery } from '../temporal/delivery';

export interface IngestDeps {
  pool: pg.Pool;
  delivery: EventDelivery;
}

export interface IngestResult {
  event: StoredEvent;
  duplicate: boolean;
  /** `delivered`: the workflow has it; `pending`: stored, the sweeper will deliver it. */
  delivery: 'delivered' | 'pending';
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
  // A duplicate is already on its way (or done): the first request or the sweeper delivers it.
  if (duplicate)
    return { event, duplicate, delivery: event.outcome === null ? 'pending' : 'delivered' };
  return { event, duplicate, delivery: await deps.delivery.deliverSoon(event) };
}
