// Stripe subscription schedules and entitlement summaries (SPEC §3 rule 11): stored and shown on
// the account — a pending plan change (what, when), the active features — never deciding the
// status. Pure.
import type Stripe from 'stripe';

import type { AccountHint, PendingPlanChange } from '../types';
import type { Interpreted } from './interpreted';
import {
  accountIdIn,
  customerOf,
  field,
  idOf,
  isoFromSeconds,
  type Json,
  listData,
  record,
  text,
  whole,
} from './read-json';

type Phase = Stripe.SubscriptionSchedule.Phase;

/** Schedules in these states make no further change. */
const FINISHED = new Set(['released', 'canceled', 'completed']);

/** The phase after the current one (the first, before the schedule starts): what and when. */
export function pendingPlanChange(schedule: Json): PendingPlanChange | null {
  const id = text(field<Stripe.SubscriptionSchedule>(schedule, 'id'));
  const status = text(field<Stripe.SubscriptionSchedule>(schedule, 'status'));
  if (id === null || (status !== null && FINISHED.has(status))) return null;
  const phases =
    (field<Stripe.SubscriptionSchedule>(schedule, 'phases') as unknown[] | undefined) ?? [];
  const current = record(field<Stripe.SubscriptionSchedule>(schedule, 'current_phase'));
  const currentEnd = whole(field<Stripe.SubscriptionSchedule.CurrentPhase>(current, 'end_date'));
  const next = (Array.isArray(phases) ? phases : [])
    .map(record)
    .filter((p): p is Json => p !== null)
    .find((p) => {
      const start = whole(field<Phase>(p, 'start_date'));
      return start !== null && (current === null || (currentEnd !== null && start >= currentEnd));
    });
  const start = whole(field<Phase>(next ?? null, 'start_date'));
  const at = start === null ? null : isoFromSeconds(start);
  if (next === undefined || at === null) return null;
  const items = field<Phase>(next, 'items');
  const first = record(Array.isArray(items) ? items[0] : null);
  return {
    schedule_id: id,
    subscription_id: idOf(field<Stripe.SubscriptionSchedule>(schedule, 'subscription')),
    plan: idOf(field<Stripe.SubscriptionSchedule.Phase.Item>(first, 'price')),
    at,
  };
}

function hintOf(object: Json): AccountHint {
  return {
    explicit_account_id: accountIdIn(field<{ metadata: Stripe.Metadata }>(object, 'metadata')),
    stripe_customer_id: customerOf(object),
    myasp_user_id: null,
  };
}

export function scheduleChanged(schedule: Json): Interpreted {
  return {
    data: {
      kind: 'stripe.schedule_changed',
      schedule_id: text(field<Stripe.SubscriptionSchedule>(schedule, 'id')) ?? '',
      schedule_status: text(field<Stripe.SubscriptionSchedule>(schedule, 'status')),
      pending_change: pendingPlanChange(schedule),
      customer_id: customerOf(schedule),
      subscription_id: null,
      plan: null,
      amount: null,
    },
    account_hint: hintOf(schedule),
  };
}

/** The summary has no id of its own: it is the customer's. */
export function entitlementSummaryId(summary: Json): string | null {
  return customerOf(summary);
}

export function entitlementsChanged(summary: Json): Interpreted {
  const keys = listData(
    field<Stripe.Entitlements.ActiveEntitlementSummary>(summary, 'entitlements'),
  )
    .map((e) => text(field<Stripe.Entitlements.ActiveEntitlement>(e, 'lookup_key')))
    .filter((k): k is string => k !== null);
  return {
    data: {
      kind: 'stripe.entitlements_changed',
      feature_lookup_keys: [...new Set(keys)].sort(),
      customer_id: customerOf(summary),
      subscription_id: null,
      plan: null,
      amount: null,
    },
    account_hint: hintOf(summary),
  };
}
