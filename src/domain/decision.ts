// What the transition decides about one event: the outcome, the state after, the audit row.
// Pure types.
import type { AccountState } from './account-state';
import type { Outcome } from './vocabulary';

/** Audit action names, as written to `audit_logs.action`. */
export type AuditAction =
  | 'billing.account_registered'
  | 'billing.subscription_started'
  | 'billing.subscription_created'
  | 'billing.checkout_completed'
  | 'billing.checkout_payment_succeeded'
  | 'billing.checkout_payment_failed'
  | 'billing.subscription_updated'
  | 'billing.subscription_deleted'
  | 'billing.subscription_paused'
  | 'billing.subscription_resumed'
  | 'billing.invoice_paid'
  | 'billing.payment_succeeded'
  | 'billing.invoice_voided'
  | 'billing.invoice_marked_uncollectible'
  | 'billing.cancel_scheduled'
  | 'billing.cancel_withdrawn'
  | 'billing.payment_failed'
  | 'billing.payment_recovered'
  | 'billing.canceled'
  | 'billing.canceled_at_period_end'
  | 'billing.trial_ended'
  | 'billing.grace_ended'
  | 'billing.myasp_status_changed'
  | 'billing.manual_correction'
  | 'billing.reconciled'
  | 'billing.event_ignored'
  | 'billing.event_stale'
  | 'billing.event_rejected'
  | 'gate.override_set'
  | 'gate.override_cleared'
  | 'gate.override_expired';

/**
 * Two snapshots of one subscription carrying the same `created` second that disagree (SPEC §3
 * rule 2): applied in arrival order, and where Stripe can be asked its answer settles them.
 */
export interface EqualSecondConflict {
  subscription_id: string;
  /** The snapshot fields the two events disagree on. */
  fields: string[];
  /** billing_events.id of the earlier-arrived event of the same second. */
  with_event_id: string | null;
}

export interface Decision {
  outcome: Outcome;
  /** The state after the event; equal to the input state unless outcome is `applied`. */
  state: AccountState | null;
  /** Set when this event disagrees with an earlier one of the same second about its subscription. */
  equal_second_conflict?: EqualSecondConflict;
  audit: {
    action: AuditAction;
    actor_role: 'system' | 'operator';
    actor: string;
    details: Record<string, unknown>;
  };
}
