// What subscription schedules and entitlement summaries record on the account (SPEC §3 rule 11):
// each is its own object, newest evidence winning, kept in the account's objects and shown on it
// (a pending plan change, the active features). No standing is derived from them, so the status
// never changes. Pure.
import type { EvidenceHandler as Handler } from './evidence-step';
import type { AccountObjects, PendingPlanChange } from './types';

const ms = (iso: string): number => Date.parse(iso);

export const scheduleChanged: Handler<'stripe.schedule_changed'> = (objects, d, event) => {
  const schedules = objects.schedules ?? {};
  const prev = Object.hasOwn(schedules, d.schedule_id) ? schedules[d.schedule_id] : undefined;
  if (prev && ms(event.occurred_at) < ms(prev.version))
    return { kind: 'stale', object: `stripe:${d.schedule_id}`, newest: prev.version };
  return {
    kind: 'record',
    objects: {
      ...objects,
      schedules: {
        ...schedules,
        [d.schedule_id]: {
          status: d.schedule_status,
          pending_change: d.pending_change,
          version: event.occurred_at,
          event_id: event.event_id,
        },
      },
    },
    action: 'billing.plan_change_scheduled',
    details: {
      schedule_id: d.schedule_id,
      schedule_status: d.schedule_status,
      pending_change: d.pending_change,
    },
    links: {},
    from_provider: false,
  };
};

export const entitlementsChanged: Handler<'stripe.entitlements_changed'> = (objects, d, event) => {
  const prev = objects.entitlements ?? null;
  if (prev && ms(event.occurred_at) < ms(prev.version))
    return { kind: 'stale', object: `stripe:entitlements`, newest: prev.version };
  return {
    kind: 'record',
    objects: {
      ...objects,
      entitlements: {
        feature_lookup_keys: d.feature_lookup_keys,
        version: event.occurred_at,
        event_id: event.event_id,
      },
    },
    action: 'billing.entitlements_updated',
    details: { feature_lookup_keys: d.feature_lookup_keys },
    links: {},
    from_provider: false,
  };
};

/** What the account shows beside its status: the next plan change and the active features. */
export interface AccountExtras {
  /** The earliest plan change a subscription schedule will make; null: none. */
  pending_plan_change: PendingPlanChange | null;
  /** Lookup keys of the active entitlements; null: Stripe has sent no summary. */
  active_features: string[] | null;
}

export function accountExtras(objects: AccountObjects | null | undefined): AccountExtras {
  const pending = Object.values(objects?.schedules ?? {})
    .map((s) => s.pending_change)
    .filter((c): c is PendingPlanChange => c !== null)
    .sort((a, b) => ms(a.at) - ms(b.at));
  return {
    pending_plan_change: pending[0] ?? null,
    active_features: objects?.entitlements?.feature_lookup_keys ?? null,
  };
}
