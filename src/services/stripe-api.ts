// What reconciliation asks Stripe's API: every subscription of a customer, or one subscription.
// stripe-node does the HTTP; this adds what it does not: a backoff on 429 (Stripe's rate limit),
// honouring Retry-After, and one sentence when Stripe cannot be asked.
import Stripe from 'stripe';

import { AppError } from '../domain/errors';

export interface StripeSubscriptionsApi {
  /** Every subscription of the customer, whatever its status (canceled ones too). */
  listSubscriptions(customerId: string): Promise<unknown[]>;
  /** One subscription, or null when Stripe does not know it. */
  retrieveSubscription(subscriptionId: string): Promise<unknown>;
}

export interface StripeApiOptions {
  apiKey: string;
  /** Another API base, e.g. `http://127.0.0.1:12111` for stripe-mock; null: api.stripe.com. */
  apiUrl?: string | null;
  /** Attempts per request when Stripe answers 429; default 6. */
  rateLimitAttempts?: number;
  /** First backoff after a 429 without Retry-After; doubles per attempt, at most 30 s. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called on every 429, for progress output and counting. */
  onRateLimited?: (waitMs: number) => void;
}

const PAGE_SIZE = 100;
const MAX_BACKOFF_MS = 30_000;

/** stripe-node's options for Stripe's API, or another base (stripe-mock, a stand-in). */
export function stripeClientOptions(apiUrl: string | null | undefined): Stripe.StripeConfig {
  const options: Stripe.StripeConfig = { maxNetworkRetries: 2, timeout: 30_000 };
  if (!apiUrl) return options;
  const url = new URL(apiUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    ...options,
    host: url.hostname,
    port: url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port),
    protocol,
  };
}

export interface StripeErrorLike {
  statusCode?: number;
  type?: string;
  code?: string;
  message?: string;
  headers?: Record<string, string | undefined>;
}

function isRateLimited(err: unknown): err is StripeErrorLike {
  const e = err as StripeErrorLike;
  return e?.statusCode === 429 || e?.type === 'StripeRateLimitError';
}

/** Stripe's Retry-After header of an error, in ms; null without one. */
export function retryAfterMs(err: StripeErrorLike): number | null {
  const raw = err.headers?.['retry-after'];
  const seconds = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}

/** Stripe's error as one sentence, without the key (stripe-node never puts it in messages). */
function unreachable(err: unknown, what: string): AppError {
  const e = err as StripeErrorLike;
  if (e?.type === 'StripeAuthenticationError' || e?.statusCode === 401) {
    return new AppError(
      'stripe_unauthorized',
      `Stripe refused STRIPE_API_KEY while ${what}; check that the key is a live or test secret (or restricted) key with read access to subscriptions.`,
      502,
    );
  }
  const detail = (e?.message ?? String(err)).split('\n')[0];
  return new AppError(
    'stripe_unavailable',
    `Stripe could not be asked while ${what}: ${detail}`,
    502,
  );
}

export function createStripeApi(opts: StripeApiOptions): StripeSubscriptionsApi {
  const stripe = new Stripe(opts.apiKey, stripeClientOptions(opts.apiUrl));
  const attempts = opts.rateLimitAttempts ?? 6;
  const backoff = opts.backoffMs ?? 500;
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));

  async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await request();
      } catch (err) {
        if (!isRateLimited(err)) throw unreachable(err, what);
        if (attempt >= attempts) {
          throw new AppError(
            'stripe_rate_limited',
            `Stripe kept answering 429 (rate limited) while ${what}, ${attempts} times; run again later or lower RECONCILE_CONCURRENCY.`,
            503,
          );
        }
        const wait = Math.min(retryAfterMs(err) ?? backoff * 2 ** (attempt - 1), MAX_BACKOFF_MS);
        opts.onRateLimited?.(wait);
        await sleep(wait);
      }
    }
  }

  return {
    async listSubscriptions(customerId) {
      const all: unknown[] = [];
      let startingAfter: string | undefined;
      for (;;) {
        const page = await call(`listing the subscriptions of ${customerId}`, () =>
          stripe.subscriptions.list({
            customer: customerId,
            status: 'all',
            limit: PAGE_SIZE,
            ...(startingAfter ? { starting_after: startingAfter } : {}),
          }),
        );
        all.push(...page.data);
        const last = page.data[page.data.length - 1];
        if (!page.has_more || last === undefined) return all;
        startingAfter = last.id;
      }
    },
    retrieveSubscription: (subscriptionId) =>
      call(`fetching ${subscriptionId}`, async () => {
        try {
          return await stripe.subscriptions.retrieve(subscriptionId);
        } catch (err) {
          if ((err as StripeErrorLike).statusCode === 404) return null;
          throw err;
        }
      }),
  };
}
