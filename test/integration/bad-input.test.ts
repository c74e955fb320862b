// SPEC §9 "bad input gets a clear error and loses nothing", over HTTP against the running
// service (API + worker + sweeper, real PostgreSQL, the suite's Temporal dev server).
//
// Every refusal is checked the same way: status, `{error: {code, message}}` with a sentence,
// exactly one webhook_rejections row with that reason and status that holds no secret, and no
// billing_events row. Every 2xx is checked to have stored exactly one billing_events row.
import * as fx from '../fixtures/stripe';
import { ENCODERS, outcomeOf } from '../helpers/accounts';
import { type Answer, postMyasp, postStripe } from '../helpers/http';
import { nowS } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';
import { signStripePayload } from '../helpers/stripe-signing';

let svc: TestService;

beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});

let sequence = 0;
const unique = (prefix: string) => `${prefix}_${Date.now()}_${++sequence}`;

/** A capitalised sentence ending in a full stop, e.g. "The MyASP token is missing. …". */
const SENTENCE = /^[A-Z][^]*\.$/;
const CONFIGURED_SECRETS = [SECRETS.stripe, SECRETS.stripeOld, SECRETS.myasp, SECRETS.admin];

// ---------------------------------------------------------------------------------------------
// Observing what one request did to the database

interface RejectionRow {
  source: string;
  http_status: number;
  reason: string;
  row_json: string;
}

interface EventRow {
  id: string;
  account_id: string;
  dedupe_key: string;
  payload: Record<string, unknown>;
}

interface Observed {
  answer: Answer;
  rejections: RejectionRow[];
  events: EventRow[];
}

async function maxId(table: 'billing_events' | 'webhook_rejections'): Promise<string> {
  const r = await svc.db.pool.query<{ max: string }>(
    `SELECT coalesce(max(id), 0)::text AS max FROM ${table}`,
  );
  return r.rows[0]?.max ?? '0';
}

/** Sends the request(s) and collects the rows added to webhook_rejections and billing_events. */
async function observe<T = Answer>(
  send: () => Promise<T>,
): Promise<Omit<Observed, 'answer'> & { answer: T }> {
  const [eventsBefore, rejectionsBefore] = await Promise.all([
    maxId('billing_events'),
    maxId('webhook_rejections'),
  ]);
  const answer = await send();
  const rejections = await svc.db.pool.query<RejectionRow>(
    `SELECT source, http_status, reason, row_to_json(r)::text AS row_json
       FROM webhook_rejections r WHERE id > $1::bigint ORDER BY id`,
    [rejectionsBefore],
  );
  const events = await svc.db.pool.query<EventRow>(
    'SELECT id::text, account_id, dedupe_key, payload FROM billing_events WHERE id > $1::bigint ORDER BY id',
    [eventsBefore],
  );
  return { answer, rejections: rejections.rows, events: events.rows };
}

interface Refusal {
  source: 'stripe' | 'myasp';
  status: number;
  code: string;
  /** Values that must appear neither in the answer nor in the rejection row (beyond the secrets). */
  secrets?: string[];
}

function expectRefused(o: Observed, r: Refusal): void {
  expect(o.answer.status).toBe(r.status);
  expect(o.answer.body).toEqual({
    error: { code: r.code, message: expect.stringMatching(SENTENCE) },
  });
  expect(
    o.rejections.map(({ source, http_status, reason }) => ({
      source,
      http_status,
      reason,
    })),
  ).toEqual([{ source: r.source, http_status: r.status, reason: r.code }]);
  const answerText = JSON.stringify(o.answer.body);
  for (const secret of [...CONFIGURED_SECRETS, ...(r.secrets ?? [])]) {
    expect(answerText).not.toContain(secret);
    expect(o.rejections[0]?.row_json).not.toContain(secret);
  }
  expect(o.events).toEqual([]);
}

/** 200, not a duplicate, exactly one new billing_events row: the one the answer names. */
function expectStored(o: Observed): EventRow {
  expect(o.answer.status).toBe(200);
  expect(o.answer.body).toMatchObject({ received: true, duplicate: false });
  expect(o.rejections).toEqual([]);
  expect(o.events.map((e) => e.id)).toEqual([String(o.answer.body.event_id)]);
  return o.events[0]!;
}

async function accountRow(accountId: string): Promise<Record<string, unknown> | undefined> {
  const r = await svc.db.pool.query<{ row: Record<string, unknown> }>(
    'SELECT row_to_json(a) AS row FROM billing_accounts a WHERE account_id = $1',
    [accountId],
  );
  return r.rows[0]?.row;
}

// ---------------------------------------------------------------------------------------------
// Stripe requests

/** A realistic, currently dated event for a fresh account; overrides as in the fixtures. */
function stripeEvent(o: fx.SubscriptionOptions = {}): fx.StripeEventJson {
  return fx.subscriptionCreated({
    accountId: unique('acct_bad'),
    created: nowS(),
    ...o,
  });
}

/** Sends `body` with a signature computed over `signedBody` (default: the body itself). */
function postSignedStripe(
  body: string,
  o: {
    signedBody?: string;
    secret?: string;
    timestamp?: number;
    contentType?: string;
  } = {},
): Promise<Answer> {
  const signature = signStripePayload(o.signedBody ?? body, o.secret ?? SECRETS.stripe, {
    timestamp: o.timestamp,
  });
  return postStripe(svc.baseUrl, body, {
    signature,
    contentType: o.contentType,
  });
}

const stripeBody = (o: fx.SubscriptionOptions = {}) => fx.toBody(stripeEvent(o));

function nested(depth: number, inner = '0'): string {
  return `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
}

const STRIPE_TOLERANCE_S = 300;

describe('Stripe: refused requests are answered clearly, recorded, and store nothing', () => {
  interface StripeCase {
    when: string;
    status: number;
    code: string;
    send: () => Promise<Answer>;
  }

  it.each<StripeCase>([
    {
      when: 'the Stripe-Signature header is missing',
      status: 400,
      code: 'missing_signature',
      send: () => postStripe(svc.baseUrl, stripeEvent(), { signature: null }),
    },
    {
      when: 'the body is changed after signing',
      status: 400,
      code: 'invalid_signature',
      send: () => {
        const signed = stripeBody({ accountId: 'acct_victim' });
        return postSignedStripe(signed.replace('acct_victim', 'acct_attack'), {
          signedBody: signed,
        });
      },
    },
    {
      when: 'the body is signed with another secret',
      status: 400,
      code: 'invalid_signature',
      send: () =>
        postSignedStripe(stripeBody(), {
          secret: 'whsec_someone_elses_endpoint_000',
        }),
    },
    {
      when: 'the signature timestamp is older than the tolerance',
      status: 400,
      code: 'timestamp_out_of_tolerance',
      send: () =>
        postSignedStripe(stripeBody(), {
          timestamp: nowS() - STRIPE_TOLERANCE_S - 60,
        }),
    },
    {
      when: 'the signature timestamp is further in the future than the tolerance',
      status: 400,
      code: 'timestamp_out_of_tolerance',
      send: () =>
        postSignedStripe(stripeBody(), {
          timestamp: nowS() + STRIPE_TOLERANCE_S + 60,
        }),
    },
    {
      when: 'the Stripe-Signature header has no t=',
      status: 400,
      code: 'malformed_signature',
      send: () => {
        const body = stripeBody();
        const v1Only = signStripePayload(body, SECRETS.stripe).replace(/^t=\d+,/, '');
        return postStripe(svc.baseUrl, body, { signature: v1Only });
      },
    },
    {
      when: 'the body is larger than 512kb',
      status: 413,
      code: 'payload_too_large',
      send: () => postSignedStripe(stripeBody({ metadata: { padding: 'x'.repeat(520 * 1024) } })),
    },
    {
      when: 'the body is huge JSON (a 3 MB array)',
      status: 413,
      code: 'payload_too_large',
      send: () =>
        postSignedStripe(
          JSON.stringify({
            ...stripeEvent(),
            data: { object: Array.from({ length: 500_000 }, (_, i) => i) },
          }),
        ),
    },
    {
      when: 'the signed body is not valid JSON',
      status: 400,
      code: 'malformed_json',
      send: () => postSignedStripe(stripeBody().slice(0, -10)),
    },
    {
      when: 'the signed body nests 10,000 levels deep',
      status: 400,
      code: 'too_deeply_nested',
      send: () =>
        postSignedStripe(
          `{"id":"evt_deep","type":"customer.updated","data":{"object":${nested(10_000)}}}`,
        ),
    },
    {
      when: 'a signed string holds a NUL character (\\u0000)',
      status: 400,
      code: 'invalid_characters',
      send: () => postSignedStripe(stripeBody({ metadata: { note: 'before\u0000after' } })),
    },
    {
      when: 'the content type is text/plain',
      status: 415,
      code: 'unsupported_media_type',
      send: () => postSignedStripe(stripeBody(), { contentType: 'text/plain' }),
    },
    {
      when: 'the JSON declares charset=Shift_JIS',
      status: 415,
      code: 'unsupported_charset',
      send: () =>
        postSignedStripe(stripeBody(), {
          contentType: 'application/json; charset=Shift_JIS',
        }),
    },
  ])(
    'when $when, then $status $code, recorded in webhook_rejections, nothing stored',
    async (c) => {
      expectRefused(await observe(c.send), {
        source: 'stripe',
        status: c.status,
        code: c.code,
      });
    },
  );

  it('when the same signed payload carries no NUL, then it is accepted (so the NUL alone caused the 400)', async () => {
    expectStored(
      await observe(() => postSignedStripe(stripeBody({ metadata: { note: 'before after' } }))),
    );
  });
});

describe('Stripe: valid signatures during a secret rotation are accepted', () => {
  it('when one header carries several v1 values and only the last is valid, then 200 and stored once', async () => {
    const event = stripeEvent();
    const signature = signStripePayload(fx.toBody(event), SECRETS.stripe, {
      extraV1: ['0'.repeat(64), 'deadbeef'.repeat(8)],
      extraSecrets: ['whsec_not_ours_123'],
      validLast: true,
    });
    expect(signature.match(/v1=/g)).toHaveLength(4);
    const stored = expectStored(await observe(() => postStripe(svc.baseUrl, event, { signature })));
    expect(stored.dedupe_key).toBe(`stripe:${event.id}`);
  });

  it('when the payload is signed only with the second configured secret, then 200 and stored once', async () => {
    const event = stripeEvent();
    const stored = expectStored(
      await observe(() => postStripe(svc.baseUrl, event, { secret: SECRETS.stripeOld })),
    );
    expect(stored.payload.id).toBe(event.id);
  });
});

// ---------------------------------------------------------------------------------------------
// MyASP requests

type Fields = Record<string, string | null>;

/** Valid MyASP fields for a fresh user; `null` in overrides removes a field. */
function myaspFields(overrides: Fields = {}): Record<string, string> {
  const merged: Fields = {
    user_id: unique('u'),
    status: '1',
    plan: 'standard',
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(merged).filter((e): e is [string, string] => e[1] !== null),
  );
}

const form = (overrides: Fields = {}) => new URLSearchParams(myaspFields(overrides)).toString();

const FORM = 'application/x-www-form-urlencoded';
const PLAN_JA = 'プレミアム会員';
const WRONG_TOKEN = 'x'.repeat(SECRETS.myasp.length);
const SHORT_TOKEN = SECRETS.myasp.slice(0, -6);

describe('MyASP: refused requests are answered clearly, recorded, and store nothing', () => {
  interface MyaspCase {
    when: string;
    status: number;
    code: string;
    send: () => Promise<Answer>;
    secrets?: string[];
  }

  it.each<MyaspCase>([
    // tokens
    {
      when: 'the token is missing',
      status: 401,
      code: 'missing_token',
      send: () => postMyasp(svc.baseUrl, form(), { token: null }),
    },
    {
      when: 'the token is wrong',
      status: 401,
      code: 'invalid_token',
      secrets: [WRONG_TOKEN],
      send: () => postMyasp(svc.baseUrl, form(), { token: WRONG_TOKEN }),
    },
    {
      when: 'the token has the wrong length',
      status: 401,
      code: 'invalid_token',
      secrets: [SHORT_TOKEN],
      send: () => postMyasp(svc.baseUrl, form(), { token: SHORT_TOKEN }),
    },
    {
      when: 'the header token is wrong',
      status: 401,
      code: 'invalid_token',
      secrets: [WRONG_TOKEN],
      send: () =>
        postMyasp(svc.baseUrl, form(), {
          token: null,
          headerToken: WRONG_TOKEN,
        }),
    },
    {
      when: 'the query token and the X-MyASP-Token header disagree',
      status: 401,
      code: 'token_mismatch',
      secrets: [WRONG_TOKEN],
      send: () => postMyasp(svc.baseUrl, form(), { headerToken: WRONG_TOKEN }),
    },
    // bodies
    {
      when: 'the body is larger than 64kb',
      status: 413,
      code: 'payload_too_large',
      send: () => postMyasp(svc.baseUrl, form({ memo: 'x'.repeat(65 * 1024) })),
    },
    {
      when: 'the body is huge JSON (1 MB)',
      status: 413,
      code: 'payload_too_large',
      send: () =>
        postMyasp(
          svc.baseUrl,
          JSON.stringify({ ...myaspFields(), memo: 'x'.repeat(1024 * 1024) }),
          { contentType: 'application/json' },
        ),
    },
    {
      when: 'the JSON body is malformed',
      status: 400,
      code: 'malformed_json',
      send: () =>
        postMyasp(svc.baseUrl, '{"user_id": "u1", "status": 1', {
          contentType: 'application/json',
        }),
    },
    {
      when: 'the JSON body nests 10,000 levels deep',
      status: 400,
      code: 'too_deeply_nested',
      send: () =>
        postMyasp(svc.baseUrl, `{"user_id":"u1","status":1,"x":${nested(10_000)}}`, {
          contentType: 'application/json',
        }),
    },
    {
      when: 'the form has a malformed percent escape',
      status: 400,
      code: 'malformed_form',
      send: () => postMyasp(svc.baseUrl, `${form({ plan: null })}&plan=50%off`),
    },
    {
      when: 'the form has more than 50 fields',
      status: 400,
      code: 'too_many_fields',
      send: () =>
        postMyasp(
          svc.baseUrl,
          form(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`extra${i}`, 'v']))),
        ),
    },
    {
      when: 'a form field holds %00 (NUL)',
      status: 400,
      code: 'invalid_characters',
      send: () => postMyasp(svc.baseUrl, `${form({ plan: null })}&plan=gold%00`),
    },
    {
      when: 'a Shift_JIS form is declared as UTF-8',
      status: 400,
      code: 'invalid_encoding',
      send: () =>
        postMyasp(svc.baseUrl, `${form({ plan: null })}&plan=${ENCODERS.shiftJis(PLAN_JA)}`, {
          contentType: `${FORM}; charset=UTF-8`,
        }),
    },
    {
      when: 'the form declares an unsupported charset',
      status: 415,
      code: 'unsupported_charset',
      send: () =>
        postMyasp(svc.baseUrl, form(), {
          contentType: `${FORM}; charset=koi8-r`,
        }),
    },
    {
      when: 'the content type is text/plain',
      status: 415,
      code: 'unsupported_media_type',
      send: () => postMyasp(svc.baseUrl, form(), { contentType: 'text/plain' }),
    },
    {
      when: 'the content type is multipart/form-data',
      status: 415,
      code: 'unsupported_media_type',
      send: () => {
        const multipart = new FormData();
        for (const [k, v] of Object.entries(myaspFields())) multipart.append(k, v);
        return fetch(`${svc.baseUrl}/webhooks/myasp?token=${SECRETS.myasp}`, {
          method: 'POST',
          body: multipart,
        }).then(async (res) => ({
          status: res.status,
          body: (await res.json()) as Record<string, unknown>,
          headers: res.headers,
        }));
      },
    },
    // content
    {
      when: 'the status is 5 (unknown)',
      status: 400,
      code: 'unknown_status',
      send: () => postMyasp(svc.baseUrl, form({ status: '5' })),
    },
    {
      when: 'the user id is missing',
      status: 400,
      code: 'missing_user_id',
      send: () => postMyasp(svc.baseUrl, form({ user_id: null })),
    },
    {
      when: 'the ts is unparseable',
      status: 400,
      code: 'invalid_timestamp',
      send: () => postMyasp(svc.baseUrl, form({ ts: '2026-13-45 25:61' })),
    },
  ])(
    'when $when, then $status $code, recorded in webhook_rejections, nothing stored',
    async (c) => {
      expectRefused(await observe(c.send), {
        source: 'myasp',
        status: c.status,
        code: c.code,
        secrets: c.secrets,
      });
    },
  );
});

describe('MyASP: accepted requests', () => {
  it.each<{ when: string; send: (body: string) => Promise<Answer> }>([
    {
      when: 'the query token and the header agree',
      send: (body) => postMyasp(svc.baseUrl, body, { headerToken: SECRETS.myasp }),
    },
    {
      when: 'the token is sent in the header only',
      send: (body) =>
        postMyasp(svc.baseUrl, body, {
          token: null,
          headerToken: SECRETS.myasp,
        }),
    },
  ])('when $when, then 200, stored once, and the token is not echoed', async ({ send }) => {
    const fields = myaspFields();
    const o = await observe(() => send(new URLSearchParams(fields).toString()));
    const stored = expectStored(o);
    expect(JSON.stringify(o.answer.body)).not.toContain(SECRETS.myasp);
    expect(stored).toMatchObject({
      account_id: `myasp:${fields.user_id}`,
      payload: fields,
    });
    expect(JSON.stringify(stored.payload)).not.toContain(SECRETS.myasp);
  });

  it('when a Shift_JIS form declares charset=Shift_JIS, then it is stored with the right Japanese text', async () => {
    const fields = myaspFields({ plan: null });
    const body = `${new URLSearchParams(fields).toString()}&plan=${ENCODERS.shiftJis(PLAN_JA)}`;
    const o = await observe(() =>
      postMyasp(svc.baseUrl, body, {
        contentType: `${FORM}; charset=Shift_JIS`,
      }),
    );
    const stored = expectStored(o);
    expect(stored.payload).toEqual({ ...fields, plan: PLAN_JA });
    expect(await outcomeOf(svc, stored.id)).toBe('applied');
    expect(await accountRow(`myasp:${fields.user_id}`)).toMatchObject({
      plan: PLAN_JA,
      status: 'active',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Content and delivery

describe('content: an unknown Stripe event type', () => {
  it('when an event type we do not interpret arrives, then 200, stored once, and processed as ignored', async () => {
    const event = fx.productCreated({ created: nowS() });
    const stored = expectStored(await observe(() => postStripe(svc.baseUrl, event)));
    expect(stored.payload).toMatchObject({
      id: event.id,
      type: 'product.created',
    });
    expect(await outcomeOf(svc, stored.id)).toBe('ignored');
  });
});

describe('delivery: duplicates, order and payload shapes', () => {
  it('when the same Stripe event is posted 100 times at once, then all 200, one first answer, one row, one audit row', async () => {
    const acct = unique('acct_burst');
    const event = stripeEvent({ accountId: acct });
    const o = await observe(() =>
      Promise.all(Array.from({ length: 100 }, () => postStripe(svc.baseUrl, event))),
    );
    expect(o.answer.map((a) => a.status)).toEqual(Array(100).fill(200));
    expect(o.answer.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    expect(new Set(o.answer.map((a) => a.body.event_id))).toEqual(new Set([o.events[0]?.id]));
    expect(o.rejections).toEqual([]);
    expect(o.events.map((e) => e.dedupe_key)).toEqual([`stripe:${event.id}`]);
    expect(await outcomeOf(svc, o.events[0]?.id)).toBe('applied');
    const audit = await svc.db.pool.query('SELECT action FROM audit_logs WHERE account_id = $1', [
      acct,
    ]);
    expect(audit.rows).toHaveLength(1);
  });

  it('when the same MyASP post is repeated, then the second answers duplicate:true and changes nothing', async () => {
    const fields = myaspFields({ status: '2', ts: '2026-01-05 10:00:00' });
    const body = new URLSearchParams(fields).toString();
    const first = expectStored(await observe(() => postMyasp(svc.baseUrl, body)));
    expect(await outcomeOf(svc, first.id)).toBe('applied');
    const accountId = `myasp:${fields.user_id}`;
    const before = await accountRow(accountId);
    expect(before).toMatchObject({ status: 'stopped', provider_status: '2' });

    const again = await observe(() => postMyasp(svc.baseUrl, body));
    expect(again.answer.status).toBe(200);
    expect(again.answer.body).toMatchObject({
      received: true,
      duplicate: true,
      event_id: first.id,
    });
    expect(again.events).toEqual([]);
    expect(again.rejections).toEqual([]);
    expect(await accountRow(accountId)).toEqual(before);
    const audit = await svc.db.pool.query('SELECT id FROM audit_logs WHERE account_id = $1', [
      accountId,
    ]);
    expect(audit.rows).toHaveLength(1);
  });

  it('when created → cancel scheduled → deleted arrive in reverse order, then canceled and the older two are stale', async () => {
    const acct = unique('acct_reverse');
    const base = {
      accountId: acct,
      customerId: fx.stripeId('cus'),
      subscriptionId: fx.stripeId('sub'),
    };
    const t = nowS();
    const inReverse = [
      fx.subscriptionDeleted({ ...base, created: t + 20 }),
      fx.subscriptionUpdated({
        ...base,
        created: t + 10,
        cancelAtPeriodEnd: true,
      }),
      fx.subscriptionCreated({ ...base, created: t }),
    ];
    const ids: unknown[] = [];
    for (const event of inReverse)
      ids.push(expectStored(await observe(() => postStripe(svc.baseUrl, event))).id);
    const outcomes = [];
    for (const id of ids) outcomes.push(await outcomeOf(svc, id));
    expect(outcomes).toEqual(['applied', 'stale', 'stale']);
    expect(await accountRow(acct)).toMatchObject({
      status: 'canceled',
      scheduled_cancel_at: null,
      last_event_id: Number(ids[0]),
    });
  });

  it('when payment_failed and invoice.paid share the same created second, then both are applied in arrival order', async () => {
    const acct = unique('acct_same_second');
    const base = {
      accountId: acct,
      customerId: fx.stripeId('cus'),
      subscriptionId: fx.stripeId('sub'),
    };
    const t = nowS();
    const started = expectStored(
      await observe(() =>
        postStripe(svc.baseUrl, fx.subscriptionCreated({ ...base, created: t - 60 })),
      ),
    );
    expect(await outcomeOf(svc, started.id)).toBe('applied');
    const invoiceId = fx.stripeId('in');
    const failed = expectStored(
      await observe(() =>
        postStripe(svc.baseUrl, fx.invoicePaymentFailed({ ...base, invoiceId, created: t })),
      ),
    );
    const paid = expectStored(
      await observe(() =>
        postStripe(svc.baseUrl, fx.invoicePaid({ ...base, invoiceId, created: t })),
      ),
    );
    expect([await outcomeOf(svc, failed.id), await outcomeOf(svc, paid.id)]).toEqual([
      'applied',
      'applied',
    ]);
    const seq = await svc.db.pool.query<{ id: string; processed_seq: string }>(
      'SELECT id::text, processed_seq::text FROM billing_events WHERE id = ANY($1::bigint[]) ORDER BY processed_seq',
      [[failed.id, paid.id]],
    );
    expect(seq.rows.map((r) => r.id)).toEqual([failed.id, paid.id]);
    const audit = await svc.db.pool.query<{
      action: string;
      to_status: string;
    }>('SELECT action, to_status FROM audit_logs WHERE account_id = $1 ORDER BY id', [acct]);
    expect(audit.rows.map((r) => r.to_status)).toEqual(['active', 'past_due', 'active']);
    expect(await accountRow(acct)).toMatchObject({
      status: 'active',
      last_event_id: Number(paid.id),
    });
  });

  it('when invoice.payment_failed arrives in the legacy and the basil shape, then both resolve to the account in metadata', async () => {
    const acct = unique('acct_shapes');
    const stored: EventRow[] = [];
    for (const shape of fx.PAYLOAD_SHAPES) {
      // A different customer and subscription each time: only metadata.account_id links them.
      const event = fx.invoicePaymentFailed({
        shape,
        accountId: acct,
        customerId: fx.stripeId('cus'),
        created: nowS(),
      });
      const o = await observe(() => postStripe(svc.baseUrl, event));
      expect(o.answer.body.account_id).toBe(acct);
      stored.push(expectStored(o));
    }
    expect(stored.map((e) => e.account_id)).toEqual([acct, acct]);
    expect(stored.map((e) => e.payload.api_version)).toEqual([
      fx.API_VERSIONS.legacy,
      fx.API_VERSIONS.basil,
    ]);
    for (const e of stored) expect(await outcomeOf(svc, e.id)).toBe('applied');
    expect(await accountRow(acct)).toMatchObject({ status: 'past_due' });
  });
});
