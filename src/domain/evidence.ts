// What one event says about one provider object (SPEC §3 rules 1–2): each handler records the
// event's evidence on the object it describes, or finds it older than what the object already
// holds (stale). Deciding the account status from the objects is derive.ts's job. Pure. Stripe
// subscriptions are in subscription-evidence.ts and invoice-evidence.ts; the MyASP membership,
// registration, manual corrections and timers are here, with the table of every kind.
import type { EvidenceHandler as Handler } from './evidence-step';
import { invoiceClosed, paymentFailed, paymentSucceeded } from './invoice-evidence';
import {
  subscriptionDeleted,
  subscriptionReconciled,
  subscriptionStarted,
  subscriptionUpdated,
} from './subscription-evidence';
import type {
  AccountObjects,
  AuditAction,
  EventData,
  ManualEvidence,
  MembershipObject,
} from './types';

const ms = (iso: string): number => Date.parse(iso);

export function emptyObjects(registeredTrialEnd: string | null = null): AccountObjects {
  return {
    subscriptions: {},
    membership: null,
    manual: null,
    registered_trial_end: registeredTrialEnd,
    registered_at: null,
  };
}

const myaspStatusChanged: Handler<'myasp.status_changed'> = (objects, d, event) => {
  const prev = objects.membership;
  if (prev && ms(event.occurred_at) < ms(prev.version)) {
    return { kind: 'stale', object: `myasp:${prev.user_id}`, newest: prev.version };
  }
  const membership: MembershipObject = {
    user_id: d.myasp_user_id,
    code: d.provider_status,
    version: event.occurred_at,
    event_id: event.event_id,
    first_seen: prev?.first_seen ?? event.occurred_at,
  };
  return {
    kind: 'record',
    objects: { ...objects, membership },
    action: 'billing.myasp_status_changed',
    details: { myasp_user_id: d.myasp_user_id, provider_status: d.provider_status },
    links: { email: d.email, myasp_user_id: d.myasp_user_id, plan: d.plan, amount: d.amount },
    from_provider: true,
  };
};

/**
 * The host app's registration is its evidence whenever it comes (SPEC §3 rule 9): also after a
 * webhook created the account, its trial counts and its email and links are kept. Once only.
 */
const registerAccount: Handler<'account.registered'> = (objects, d, event, state) => {
  if (state !== null && (objects.registered_at ?? null) !== null) {
    return { kind: 'ignore', reason: 'already_registered' };
  }
  return {
    kind: 'record',
    objects: { ...objects, registered_trial_end: d.trial_end, registered_at: event.occurred_at },
    action: 'billing.account_registered',
    details: { trial_end: d.trial_end, ...(state === null ? {} : { after_provider_events: true }) },
    links: {
      email: d.email,
      stripe_customer_id: d.stripe_customer_id,
      myasp_user_id: d.myasp_user_id,
    },
    from_provider: false,
  };
};

const correctManually: Handler<'manual.correction'> = (objects, d, event) => {
  if (d.status === 'canceling' && d.scheduled_cancel_at === null) {
    return { kind: 'reject', reason: 'canceling_needs_scheduled_cancel_at' };
  }
  const manual: ManualEvidence = {
    status: d.status,
    scheduled_cancel_at: d.status === 'canceling' ? d.scheduled_cancel_at : null,
    at: event.occurred_at,
    event_id: event.event_id,
  };
  return {
    kind: 'record',
    objects: { ...objects, manual },
    action: 'billing.manual_correction',
    details: { reason: d.reason, corrected_to: d.status },
    links: {},
    from_provider: false,
  };
};

const TIMER_ACTIONS: Record<'trial_end' | 'cancel_at_period_end' | 'grace_end', AuditAction> = {
  trial_end: 'billing.trial_ended',
  cancel_at_period_end: 'billing.canceled_at_period_end',
  grace_end: 'billing.grace_ended',
};

/** A deadline passed: no new evidence, the status is derived again at that instant. */
const timerFired: Handler<'timer.fired'> = (objects, d, _event, state) => {
  if (state === null) return { kind: 'ignore', reason: 'no_account' };
  return {
    kind: 'record',
    objects,
    action: TIMER_ACTIONS[d.timer],
    details: {},
    links: {},
    from_provider: false,
  };
};

/** What a MyASP member export said about the membership (reconciliation). */
const membershipReconciled: Handler<'reconcile.membership'> = (objects, d, event, state) => {
  const step = myaspStatusChanged(
    objects,
    { ...d, kind: 'myasp.status_changed', email: null, plan: null, amount: null },
    event,
    state,
  );
  if (step.kind !== 'record') return step;
  return {
    ...step,
    action: 'billing.reconciled',
    details: { ...step.details, provider: 'myasp', differences: d.differences },
  };
};

export const EVIDENCE: { [K in EventData['kind']]: Handler<K> } = {
  'stripe.subscription_started': subscriptionStarted,
  'stripe.subscription_updated': subscriptionUpdated,
  'stripe.subscription_deleted': subscriptionDeleted,
  'stripe.payment_failed': paymentFailed,
  'stripe.payment_succeeded': paymentSucceeded,
  'stripe.invoice_closed': invoiceClosed,
  'myasp.status_changed': myaspStatusChanged,
  'account.registered': registerAccount,
  'manual.correction': correctManually,
  'timer.fired': timerFired,
  'reconcile.subscription': subscriptionReconciled,
  'reconcile.membership': membershipReconciled,
  unhandled: () => ({ kind: 'ignore', reason: 'unhandled_event_type' }),
};
