// One round of an endpoint's deliveries (the `sendNotifications` activity): the due head message
// of each account, signed per Standard Webhooks with the `standardwebhooks` library and POSTed,
// a bounded number at a time; each answer recorded as it comes (retry-schedule.ts decides what
// it means). Accounts are independent: one account's failing message never holds another's.
import net from 'node:net';

import type pg from 'pg';
import { Webhook } from 'standardwebhooks';

import {
  disableEndpoint,
  type DueMessage,
  dueMessages,
  getSigningEndpoint,
  nextDueAt,
  recordAttempt,
} from '../db/queries/notifications';
import { notificationBody } from '../domain/changes';
import { isPrivateAddress } from './address-policy';
import { afterAttempt, parseRetryAfter } from './retry-schedule';
import { postJson, type PostResult } from './send';

export interface SendDueInput {
  endpoint_id: string;
  /** The workflow's clock (ISO): what is due, and when the next attempt is. */
  now: string;
  /** Messages sent in this round at most (default 100). */
  limit?: number;
}

export interface SendDueResult {
  /** Deleted or disabled (now or before): the endpoint's workflow ends. */
  stopped: boolean;
  delivered: number;
  retrying: number;
  failed: number;
  /** A full round: more may be due at once. */
  more: boolean;
  /** When the next waiting message falls due (workflow clock); null when none waits. */
  next_due_at: string | null;
}

export interface DispatchDeps {
  pool: pg.Pool;
  allowPrivate: boolean;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Called after each answer (the activity heartbeats). */
  onProgress?: () => void;
  /** Real time, for webhook-timestamp (each attempt signs afresh). */
  clock?: () => Date;
}

export const DEFAULT_ROUND_LIMIT = 100;

/** The Standard Webhooks headers for one attempt of `message`, signed now. */
export function signedHeaders(
  secret: string,
  msgId: string,
  body: string,
  at: Date,
): Record<string, string> {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(msgId, at, body),
  };
}

async function sendOne(
  deps: DispatchDeps,
  endpoint: { url: string; secret: string },
  message: DueMessage,
): Promise<PostResult> {
  const host = new URL(endpoint.url).hostname.replace(/^\[|\]$/g, '');
  if (!deps.allowPrivate && net.isIP(host) !== 0 && isPrivateAddress(host))
    return {
      status: null,
      retryAfter: null,
      error: `${host} is a loopback or private address; set NOTIFY_ALLOW_PRIVATE=true to allow it.`,
    };
  const body = JSON.stringify(notificationBody(message.change));
  const headers = signedHeaders(
    endpoint.secret,
    message.change.change_id,
    body,
    deps.clock?.() ?? new Date(),
  );
  return postJson(endpoint.url, body, headers, {
    allowPrivate: deps.allowPrivate,
    timeoutMs: deps.timeoutMs ?? 10_000,
  });
}

export async function sendDueNotifications(
  deps: DispatchDeps,
  input: SendDueInput,
): Promise<SendDueResult> {
  const result: SendDueResult = {
    stopped: false,
    delivered: 0,
    retrying: 0,
    failed: 0,
    more: false,
    next_due_at: null,
  };
  const endpoint = await getSigningEndpoint(deps.pool, input.endpoint_id);
  if (endpoint === null || endpoint.disabled_at !== null) return { ...result, stopped: true };
  const now = new Date(input.now);
  const limit = input.limit ?? DEFAULT_ROUND_LIMIT;
  const due = await dueMessages(deps.pool, endpoint.id, now.toISOString(), limit);
  let gone = false;
  const queue = [...due];
  const worker = async () => {
    for (let message = queue.shift(); message && !gone; message = queue.shift()) {
      const answer = await sendOne(deps, endpoint, message);
      const next = afterAttempt(
        { status: answer.status, retryAfterMs: parseRetryAfter(answer.retryAfter, now) },
        message.attempts,
        now,
      );
      if (next.kind === 'disable_endpoint') {
        gone = true;
        await recordAttempt(deps.pool, {
          id: message.id,
          status: answer.status,
          error: answer.error,
          result: 'retry',
          next_attempt_at: null,
        });
        await disableEndpoint(
          deps.pool,
          endpoint.id,
          `the receiver answered 410 Gone (${new Date().toISOString()})`,
        );
      } else {
        await recordAttempt(deps.pool, {
          id: message.id,
          status: answer.status,
          error: answer.error,
          result: next.kind,
          next_attempt_at: next.kind === 'retry' ? next.at.toISOString() : null,
        });
        if (next.kind === 'delivered') result.delivered++;
        else if (next.kind === 'retry') result.retrying++;
        else result.failed++;
      }
      deps.onProgress?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency ?? 8, due.length) }, worker));
  if (gone) return { ...result, stopped: true };
  const next = await nextDueAt(deps.pool, endpoint.id);
  // A delivered head makes its account's next message due at once: another round, no timer.
  result.more = due.length === limit || (next !== null && Date.parse(next) <= now.getTime());
  result.next_due_at = next;
  return result;
}
