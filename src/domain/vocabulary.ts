// The domain's closed word lists: account statuses, event sources, outcomes, providers. Pure.

export const STATUSES = [
  'free',
  'early_payment',
  'active',
  'canceling',
  'past_due',
  'stopped',
  'canceled',
] as const;
export type Status = (typeof STATUSES)[number];

export const EVENT_SOURCES = ['stripe', 'myasp', 'api', 'manual', 'timer', 'reconcile'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export const OUTCOMES = ['applied', 'duplicate', 'stale', 'ignored', 'rejected'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type Provider = 'stripe' | 'myasp' | 'none';
