// The Stripe manual test procedure as data: each scenario is the webhook a provider would send
// for one step of the procedure, built for a named account. Stripe scenarios reuse the account's
// customer and subscription ids (a new subscription for `resubscribe`); MyASP scenarios post the
// membership form for the account's MyASP user.
import { AppError } from '../../domain/errors';
import {
  invoiceObject,
  type PayloadShape,
  type StripeEvent,
  stripeEvent,
  stripeId,
  type SubscriptionFacts,
  subscriptionObject,
} from './stripe-payloads';

/** What the scenario needs to know about the account (from GET /v1/accounts/:id, if it exists). */
export interface TriggerAccount {
  account_id: string;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  myasp_user_id: string | null;
  /** The account's evidence clock: a new event must not be older, or it would be stale. */
  as_of: string | null;
}

export type TriggerPost =
  | { provider: 'stripe'; event: StripeEvent; description: string }
  | { provider: 'myasp'; fields: Record<string, string>; description: string };

interface Input {
  account: TriggerAccount;
  shape: PayloadShape;
  /** Unix seconds: now, or just after the account's evidence clock when that is later. */
  created: number;
}

type Scenario = { summary: string; build: (i: Input) => TriggerPost };

const DAY_S = 86_400;

function facts(i: Input, over: Partial<SubscriptionFacts> = {}): SubscriptionFacts {
  return {
    shape: i.shape,
    accountId: i.account.account_id,
    customerId: i.account.stripe_customer_id ?? stripeId('cus'),
    subscriptionId: i.account.stripe_subscription_id ?? stripeId('sub'),
    created: i.created,
    status: 'active',
    periodEnd: i.created + 30 * DAY_S,
    ...over,
  };
}

function subscriptionEvent(
  type: string,
  f: SubscriptionFacts,
  description: string,
  previous?: Record<string, unknown>,
): TriggerPost {
  return {
    provider: 'stripe',
    event: stripeEvent(type, subscriptionObject(f), f.shape, f.created, previous),
    description,
  };
}

function invoiceEvent(type: string, f: SubscriptionFacts, paid: boolean, description: string) {
  return {
    provider: 'stripe' as const,
    event: stripeEvent(type, invoiceObject(f, paid), f.shape, f.created),
    description,
  };
}

const MYASP_CODES = { registered: '1', stopped: '2', revived: '3', cancelled: '4' } as const;

function myaspUser(account: TriggerAccount): string {
  if (account.myasp_user_id) return account.myasp_user_id;
  if (account.account_id.startsWith('myasp:')) return account.account_id.slice('myasp:'.length);
  throw new AppError(
    'no_myasp_user',
    `${account.account_id} has no MyASP user id: use --account myasp:<user id>, or register the account with myasp_user_id.`,
  );
}

function myasp(code: keyof typeof MYASP_CODES): Scenario {
  const status = MYASP_CODES[code];
  return {
    summary: `MyASP status ${status} (${code}) for the account's MyASP user`,
    build: (i) => ({
      provider: 'myasp',
      fields: {
        user_id: myaspUser(i.account),
        status,
        plan: 'standard',
        amount: '1980',
        ts: new Date(i.created * 1000).toISOString(),
        event_id: `trigger-${stripeId('myasp').slice(8)}`,
      },
      description: `MyASP status ${status} (${code})`,
    }),
  };
}

export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  'payment-failed': {
    summary: 'invoice.payment_failed for the subscription (→ past_due)',
    build: (i) =>
      invoiceEvent('invoice.payment_failed', facts(i), false, 'a renewal payment failed'),
  },
  'payment-recovered': {
    summary: 'invoice.paid for the subscription (past_due → active)',
    build: (i) => invoiceEvent('invoice.paid', facts(i), true, 'the invoice was paid'),
  },
  'cancel-scheduled': {
    summary: 'customer.subscription.updated with cancel_at_period_end in 30 days (→ canceling)',
    build: (i) =>
      subscriptionEvent(
        'customer.subscription.updated',
        facts(i, { cancelAtPeriodEnd: true }),
        'the customer scheduled a cancel at period end',
        { cancel_at: null, cancel_at_period_end: false, canceled_at: null },
      ),
  },
  'cancel-withdrawn': {
    summary: 'customer.subscription.updated with the cancel withdrawn (canceling → active)',
    build: (i) => {
      const f = facts(i);
      return subscriptionEvent(
        'customer.subscription.updated',
        f,
        'the customer withdrew the cancel',
        { cancel_at: f.periodEnd, cancel_at_period_end: true, canceled_at: i.created - 3600 },
      );
    },
  },
  'subscription-deleted': {
    summary: 'customer.subscription.deleted (→ canceled)',
    build: (i) =>
      subscriptionEvent(
        'customer.subscription.deleted',
        facts(i, { status: 'canceled', periodEnd: i.created }),
        'the subscription ended',
      ),
  },
  'trial-ended': {
    summary:
      "customer.subscription.updated from trialing to active at the subscription's trial end",
    build: (i) =>
      subscriptionEvent(
        'customer.subscription.updated',
        facts(i, { trialEnd: i.created }),
        "the subscription's trial ended and it became active",
        { status: 'trialing' },
      ),
  },
  resubscribe: {
    summary: 'customer.subscription.created for a new subscription (→ active)',
    build: (i) =>
      subscriptionEvent(
        'customer.subscription.created',
        facts(i, { subscriptionId: stripeId('sub') }),
        'the customer subscribed again',
      ),
  },
  'myasp-registered': myasp('registered'),
  'myasp-stopped': myasp('stopped'),
  'myasp-revived': myasp('revived'),
  'myasp-cancelled': myasp('cancelled'),
};

/** The MyASP status codes also work as names: myasp-1 … myasp-4. */
const ALIASES: Readonly<Record<string, string>> = {
  'myasp-1': 'myasp-registered',
  'myasp-2': 'myasp-stopped',
  'myasp-3': 'myasp-revived',
  'myasp-4': 'myasp-cancelled',
};

export function buildTrigger(name: string, input: Input): TriggerPost {
  const scenario = SCENARIOS[ALIASES[name] ?? name];
  if (!scenario) {
    throw new AppError(
      'unknown_scenario',
      `There is no scenario "${name}"; choose one of ${Object.keys(SCENARIOS).join(', ')} (MyASP also as myasp-1 … myasp-4).`,
    );
  }
  return scenario.build(input);
}

/** Now in Unix seconds, or one second after the account's evidence clock if that is later. */
export function eventTime(account: TriggerAccount | null, nowMs: number): number {
  const now = Math.floor(nowMs / 1000);
  const asOf = account?.as_of ? Math.floor(Date.parse(account.as_of) / 1000) + 1 : 0;
  return Math.max(now, asOf);
}
