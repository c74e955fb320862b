// POST /webhooks/stripe: verify → store → deliver → 200 {received, duplicate}.
import express, { type Request, type Response, Router } from 'express';
import Stripe from 'stripe';

import { AppError } from '../domain/errors';
import { normalizeStripeEvent, normalizeThinEvent } from '../domain/normalize-stripe';
import { isThinNotification, readThinNotification } from '../domain/stripe/thin';
import { ingestEvent } from '../services/ingest';
import { parseContentType } from './body-decoding/content-type';
import { decodeJsonBody } from './body-decoding/json';
import type { AppDeps } from './deps';
import { nowOf } from './deps';
import { webhookErrorHandler } from './errors';
import { answerIngested } from './webhook-answer';

export const STRIPE_BODY_LIMIT = '512kb';

const stripeSignature = Stripe.webhooks.signature;

function signatureTimestamp(header: string): number {
  const t = header
    .split(',')
    .map((p) => p.trim().split('='))
    .find(([k]) => k === 't')?.[1];
  const hasV1 = header.split(',').some((p) => p.trim().startsWith('v1='));
  if (!t || !/^\d+$/.test(t) || !hasV1) {
    throw new AppError(
      'malformed_signature',
      'The Stripe-Signature header is malformed: it needs t=<timestamp> and at least one v1=<signature>.',
      400,
    );
  }
  return Number(t);
}

/** Stripe's own check refuses old timestamps only; we refuse far-future ones too (SPEC §9). */
export function verifyStripeSignature(
  raw: Buffer,
  header: string | undefined,
  secrets: readonly string[],
  toleranceSeconds: number,
  now: Date,
): string {
  if (!header)
    throw new AppError(
      'missing_signature',
      'The Stripe-Signature header is missing; Stripe always sends it, so check the endpoint is called by Stripe.',
      400,
    );
  const t = signatureTimestamp(header);
  if (Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) {
    throw new AppError(
      'timestamp_out_of_tolerance',
      `The signature timestamp is more than ${toleranceSeconds} s away from our clock; check the sender's clock, or a replayed request.`,
      400,
    );
  }
  const valid = secrets.find((secret) => {
    try {
      // Tolerance already checked both ways above; Stripe checks that any v1 matches.
      if (!stripeSignature) return false;
      stripeSignature.verifyHeader(raw, header, secret, ANY_AGE);
      return true;
    } catch {
      return false;
    }
  });
  if (valid === undefined)
    throw new AppError(
      'invalid_signature',
      'The Stripe signature does not match any configured STRIPE_WEBHOOK_SECRET; check the endpoint secret.',
      400,
    );
  return valid;
}

/** Our own check of the timestamp comes first (both ways, SPEC §9); Stripe's then checks none. */
const ANY_AGE = 0x7fffffff;

/** stripe-node's thin-event parser; no API key is needed to parse (fetching is the fetcher's). */
const thinParser = new Stripe('sk_parse_only');

/**
 * A thin event (`object: "v2.core.event"`): parsed by stripe-node's own `parseEventNotification`
 * with the secret whose signature matched (it verifies again, and refuses a v1 snapshot event).
 */
function normalizeThin(raw: Buffer, header: string, secret: string, payload: unknown) {
  try {
    thinParser.parseEventNotification(raw, header, secret, ANY_AGE);
  } catch (err) {
    throw new AppError(
      'malformed_event',
      `Stripe's thin-event parser refused the notification: ${err instanceof Error ? err.message : String(err)}`,
      400,
    );
  }
  return normalizeThinEvent(readThinNotification(payload));
}

export function stripeWebhookRouter(deps: AppDeps): Router {
  const router = Router();
  const secrets = deps.config.stripeWebhookSecrets;
  router.post(
    '/webhooks/stripe',
    express.raw({ type: () => true, limit: STRIPE_BODY_LIMIT }),
    async (req: Request, res: Response) => {
      if (secrets.length === 0) {
        throw new AppError(
          'stripe_not_configured',
          'Stripe webhooks are not enabled on this server: STRIPE_WEBHOOK_SECRET is not set.',
          404,
        );
      }
      const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const contentType = parseContentType(req.get('content-type'));
      if (contentType.mediaType !== 'application/json') {
        throw new AppError(
          'unsupported_media_type',
          'Stripe webhooks must be sent as application/json.',
          415,
        );
      }
      const header = req.get('stripe-signature');
      const secret = verifyStripeSignature(
        raw,
        header,
        secrets,
        deps.config.stripeToleranceSeconds,
        nowOf(deps),
      );
      const payload = decodeJsonBody(raw, contentType.charset);
      const normalized = isThinNotification(payload)
        ? normalizeThin(raw, header ?? '', secret, payload)
        : normalizeStripeEvent(payload, { pastDueGraceMs: deps.config.pastDueGraceMs });
      const result = await ingestEvent(deps, normalized, payload);
      answerIngested(res, deps, 'stripe', result);
    },
  );
  router.use('/webhooks/stripe', webhookErrorHandler(deps, 'stripe'));
  return router;
}
