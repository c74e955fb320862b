// Signs webhook bodies the way Stripe does, using the real `stripe` package, so tests exercise
// the same verification path as production (SPEC §9 "signatures").
//
// Header format: `t=<unix seconds>,v1=<hex hmac>[,v1=<hex hmac>…]`. During secret rotation Stripe
// sends one v1 per active secret; a verifier must accept the header if any v1 matches.
import Stripe from 'stripe';

export interface SignOptions {
  /** Unix seconds (past or future). Default: now. */
  timestamp?: number;
  /** Extra v1 values appended verbatim after the valid one (e.g. a stale or bogus signature). */
  extraV1?: string[];
  /** Also sign with these secrets and append their v1 values (rotation). */
  extraSecrets?: string[];
  /** Put the valid signature after the extra ones instead of first. */
  validLast?: boolean;
}

function resolveTimestamp(timestamp: number | undefined): number {
  if (timestamp === undefined) return Math.floor(Date.now() / 1000);
  // stripe-node treats a falsy timestamp as "now", which would silently sign the wrong time.
  if (!Number.isFinite(timestamp) || timestamp <= 0) {
    throw new Error(`signStripePayload: timestamp must be positive Unix seconds, got ${timestamp}`);
  }
  return Math.floor(timestamp);
}

/** The hex v1 signature Stripe would compute for this body, secret and timestamp. */
export function stripeV1Signature(body: string, secret: string, timestamp: number): string {
  const header = Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret,
    timestamp: resolveTimestamp(timestamp),
  });
  const match = /(?:^|,)v1=([0-9a-f]+)/.exec(header);
  if (!match?.[1]) throw new Error(`stripe returned an unexpected header: ${header}`);
  return match[1];
}

/** A `Stripe-Signature` header value for `body` signed with `secret`. */
export function signStripePayload(body: string, secret: string, opts: SignOptions = {}): string {
  const timestamp = resolveTimestamp(opts.timestamp);
  const valid = stripeV1Signature(body, secret, timestamp);
  const extras = [
    ...(opts.extraSecrets ?? []).map((other) => stripeV1Signature(body, other, timestamp)),
    ...(opts.extraV1 ?? []),
  ];
  const signatures = opts.validLast ? [...extras, valid] : [valid, ...extras];
  return [`t=${timestamp}`, ...signatures.map((sig) => `v1=${sig}`)].join(',');
}
