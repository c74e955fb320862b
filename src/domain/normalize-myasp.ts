// A MyASP "external system linkage registration" post → the NormalizedEvent we store and
// deliver, or an AppError (400) a MyASP operator can act on; the MyASP counterpart of
// normalize-stripe.ts. Fields are read in myasp/fields.ts, the status code in myasp/status.ts,
// the timestamp in myasp/timestamp.ts. Pure: workflow code imports src/domain, so no Node
// built-ins here — that is why the dedupe digest is handed in by the caller.
import { readAmount, readEmail, readText, readUserId } from './myasp/fields';
import { MYASP_EVENT_TYPES, type MyaspStatusCode, readStatus } from './myasp/status';
import { readOccurredAt } from './myasp/timestamp';
import type { NormalizedEvent } from './types';

/**
 * Hex SHA-256 of a UTF-8 string, passed in by the caller: the domain imports no Node modules
 * (workflow code imports it), so the HTTP layer hands over `node:crypto`.
 */
export type Digest = (text: string) => string;

interface MyaspInput {
  userId: string;
  status: MyaspStatusCode;
  email: string | null;
  plan: string | null;
  amount: number | null;
  occurredAt: Date | null;
  eventId: string | null;
}

function readMyaspInput(fields: Record<string, unknown>, receivedAt: Date): MyaspInput {
  return {
    userId: readUserId(fields),
    status: readStatus(fields),
    occurredAt: readOccurredAt(fields, receivedAt),
    amount: readAmount(fields),
    email: readEmail(fields),
    plan: readText(fields, 'plan'),
    eventId: readText(fields, 'event_id'),
  };
}

/**
 * `myasp:<event_id>` when the sender names the event. Otherwise `myasp:sha256:<digest>` of the
 * parsed content, so the same post sent twice (a MyASP retry, a double click) is one event, and
 * "1,980" vs 1980 or "2026/01/05 10:00" vs "2026-01-05T01:00:00Z" do not split it. Without ts
 * the content alone cannot tell a retry from a later, genuinely new post (stopped → revived →
 * stopped again), so the receive time truncated to the second joins the content: repeats within
 * the same second collapse, later ones are new events (re-applying the same status is harmless).
 */
function myaspDedupeKey(input: MyaspInput, receivedAt: Date, digest: Digest): string {
  if (input.eventId !== null) return `myasp:${input.eventId}`;
  const receivedSecond =
    input.occurredAt === null
      ? new Date(Math.floor(receivedAt.getTime() / 1000) * 1000).toISOString()
      : null;
  const content = JSON.stringify([
    'myasp-v1',
    input.userId,
    input.status,
    input.plan,
    input.amount,
    input.email,
    input.occurredAt?.toISOString() ?? null,
    receivedSecond,
  ]);
  return `myasp:sha256:${digest(content)}`;
}

/**
 * Fields of a MyASP external-system-linkage POST (form or JSON), token already verified → the
 * event we store and deliver, as normalizeStripeEvent does for Stripe. Throws
 * AppError 400: missing_user_id, invalid_user_id, conflicting_user_id, missing_status,
 * invalid_status, unknown_status, invalid_timestamp, invalid_amount, invalid_email, invalid_plan,
 * invalid_event_id. `email` wins over `mail` when both are sent.
 */
export function normalizeMyaspEvent(
  fields: Record<string, unknown>,
  receivedAt: Date,
  digest: Digest,
): NormalizedEvent {
  const input = readMyaspInput(fields, receivedAt);
  return {
    source: 'myasp',
    dedupe_key: myaspDedupeKey(input, receivedAt, digest),
    event_type: MYASP_EVENT_TYPES[input.status],
    occurred_at: (input.occurredAt ?? receivedAt).toISOString(),
    object_key: `myasp:${input.userId}`,
    data: {
      kind: 'myasp.status_changed',
      myasp_user_id: input.userId,
      provider_status: input.status,
      email: input.email,
      plan: input.plan,
      amount: input.amount,
    },
    account_hint: {
      explicit_account_id: null,
      stripe_customer_id: null,
      myasp_user_id: input.userId,
    },
  };
}
