// Events the service itself originates (API registration, operator corrections). They take the
// same road as webhooks — stored in billing_events, applied by the account workflow — and the
// caller waits for the workflow's answer (update-with-start).
import type pg from 'pg';

import { type AccountView, getAccountView } from '../db/queries/account-reads';
import { insertEvent, type StoredEvent, toBillingEvent } from '../db/queries/billing-events';
import type { EventDelivery } from '../delivery/outbox';
import { checkAccountId } from '../domain/account-id';
import { AppError } from '../domain/errors';
import type { AccountRegistered, ManualCorrection, Outcome, Status } from '../domain/types';
import { STATUSES } from '../domain/types';
import { applyEventAndWait, type BillingTemporal } from '../temporal/client';

export interface AccountEventDeps {
  pool: pg.Pool;
  temporal: BillingTemporal;
  delivery: EventDelivery;
  /** How long to wait for the workflow before answering "accepted, pending". */
  waitMs?: number;
}

export interface AccountEventResult {
  event: StoredEvent;
  duplicate: boolean;
  /** null while the workflow has not processed the event yet (Temporal unreachable or slow). */
  outcome: Outcome | null;
  account: AccountView | null;
}

async function storeAndApply(
  deps: AccountEventDeps,
  row: Parameters<typeof insertEvent>[1],
): Promise<AccountEventResult> {
  const { event, duplicate } = await insertEvent(deps.pool, row);
  let outcome: Outcome | null = event.outcome;
  if (outcome === null) {
    try {
      outcome = (
        await applyEventAndWait(deps.temporal, toBillingEvent(event), deps.waitMs ?? 10_000)
      ).outcome;
    } catch {
      // Stored: the delivery sweeper will bring it to the workflow. The caller is told it is pending.
      outcome = null;
    }
  }
  return { event, duplicate, outcome, account: await getAccountView(deps.pool, event.account_id) };
}

export interface RegisterInput {
  account_id: string;
  trial_end?: string | null;
  trial_days?: number | null;
  email?: string | null;
  stripe_customer_id?: string | null;
  myasp_user_id?: string | null;
}

export async function registerAccount(
  deps: AccountEventDeps,
  input: RegisterInput,
  opts: { defaultTrialDays: number; now: Date },
): Promise<AccountEventResult> {
  checkAccountId(input.account_id, 'account_id');
  const days = input.trial_days ?? opts.defaultTrialDays;
  const trialEnd = input.trial_end
    ? new Date(input.trial_end).toISOString()
    : days > 0
      ? new Date(opts.now.getTime() + days * 86_400_000).toISOString()
      : null;
  const data: AccountRegistered = {
    kind: 'account.registered',
    trial_end: trialEnd,
    email: input.email ?? null,
    stripe_customer_id: input.stripe_customer_id ?? null,
    myasp_user_id: input.myasp_user_id ?? null,
  };
  return storeAndApply(deps, {
    source: 'api',
    dedupe_key: `api:account.registered:${input.account_id}`,
    event_type: 'account.registered',
    account_id: input.account_id,
    occurred_at: opts.now.toISOString(),
    object_key: null,
    payload: { ...input },
    data,
  });
}

export interface CorrectionInput {
  account_id: string;
  status: string;
  reason: string;
  actor: string;
  scheduled_cancel_at?: string | null;
}

export async function correctAccount(
  deps: AccountEventDeps,
  input: CorrectionInput,
  opts: { now: Date; requestId: string },
): Promise<AccountEventResult> {
  checkAccountId(input.account_id, 'the account in the request');
  if (!(STATUSES as readonly string[]).includes(input.status)) {
    throw new AppError(
      'invalid_status',
      `"${input.status}" is not a status; use one of ${STATUSES.join(', ')}.`,
      400,
    );
  }
  if (input.reason.trim() === '') {
    throw new AppError(
      'missing_reason',
      'A manual correction needs a reason; say why the status is being changed.',
      400,
    );
  }
  if (input.status === 'canceling' && !input.scheduled_cancel_at) {
    throw new AppError(
      'missing_scheduled_cancel_at',
      'Correcting to canceling needs scheduled_cancel_at (when the subscription ends).',
      400,
    );
  }
  const data: ManualCorrection = {
    kind: 'manual.correction',
    status: input.status as Status,
    reason: input.reason,
    actor: input.actor,
    scheduled_cancel_at: input.scheduled_cancel_at
      ? new Date(input.scheduled_cancel_at).toISOString()
      : null,
  };
  return storeAndApply(deps, {
    source: 'manual',
    dedupe_key: `manual:${input.account_id}:${opts.requestId}`,
    event_type: 'manual.correction',
    account_id: input.account_id,
    occurred_at: opts.now.toISOString(),
    object_key: null,
    payload: { ...input },
    data,
  });
}
