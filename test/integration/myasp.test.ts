// MyASP webhooks over HTTP against the running service (SPEC §2, §9): every status code as form
// and JSON, aliases, Japanese text in UTF-8 and Shift_JIS, dedupe, ordering, refusals recorded in
// webhook_rejections, and linking to a registered account. Real PostgreSQL, real Temporal.
import {
  anyString,
  count,
  ENCODERS,
  getAccount,
  japanTime,
  myaspForm,
  outcomeOf,
  register,
  type Row,
  statusBecomes,
  stringContaining,
} from '../helpers/accounts';
import { type Answer, postMyasp } from '../helpers/http';
import { uid } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';

let svc: TestService;

beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});

/** Timestamps an hour ago and moving forward, so each post is newer than the last. */
let clock = Date.now() - 3_600_000;
const nextTs = () => new Date((clock += 10_000));

type Fields = Record<string, string | number>;
type Encoding = 'form' | 'json';

function post(encoding: Encoding, fields: Fields): Promise<Answer> {
  return encoding === 'form'
    ? postMyasp(svc.baseUrl, myaspForm(fields))
    : // JSON with the token in the header, the form with it in the query: both places are covered.
      postMyasp(svc.baseUrl, JSON.stringify(fields), {
        contentType: 'application/json',
        token: null,
        headerToken: SECRETS.myasp,
      });
}

async function eventRow(eventId: unknown): Promise<Row> {
  const r = await svc.db.pool.query<Row>('SELECT * FROM billing_events WHERE id = $1::bigint', [
    eventId,
  ]);
  return r.rows[0] ?? {};
}

const eventsOf = (accountId: string) =>
  count(svc, 'SELECT 1 FROM billing_events WHERE account_id = $1::text', [accountId]);

describe.each<Encoding>(['form', 'json'])('MyASP status codes (%s)', (encoding) => {
  const user = uid(`u-${encoding}`, '-');
  const account = `myasp:${user}`;

  it.each([
    { code: 1, status: 'active', type: 'myasp.registered' },
    { code: 2, status: 'stopped', type: 'myasp.stopped' },
    { code: 3, status: 'active', type: 'myasp.revived' },
    { code: 4, status: 'canceled', type: 'myasp.cancelled' },
  ])(
    'when status $code arrives, then the account is $status and provider_status keeps "$code"',
    async ({ code, status, type }) => {
      const r = await post(encoding, {
        user_id: user,
        status: code,
        plan: 'standard',
        amount: 1980,
        email: 'taro@example.jp',
        ts: nextTs().toISOString(),
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ received: true, duplicate: false, account_id: account });
      expect(await outcomeOf(svc, r.body.event_id)).toBe('applied');
      const a = await statusBecomes(svc, account, status);
      expect(a).toMatchObject({
        provider: 'myasp',
        provider_status: String(code),
        myasp_user_id: user,
        plan: 'standard',
        amount: 1980,
        email: 'taro@example.jp',
      });
      expect(a.last_event).toMatchObject({
        id: r.body.event_id,
        source: 'myasp',
        event_type: type,
      });
    },
  );
});

describe('MyASP fields', () => {
  it('when the aliases myasp_user_id and mail are used, then they are read as user_id and email', async () => {
    const user = uid('alias', '-');
    const r = await postMyasp(
      svc.baseUrl,
      myaspForm({
        myasp_user_id: user,
        mail: 'hanako@example.jp',
        status: 1,
        ts: japanTime(nextTs()),
      }),
    );
    expect(r.status).toBe(200);
    expect(r.body.account_id).toBe(`myasp:${user}`);
    const a = await statusBecomes(svc, `myasp:${user}`, 'active');
    expect(a).toMatchObject({ myasp_user_id: user, email: 'hanako@example.jp' });
  });

  it.each([
    { charset: 'UTF-8', encode: ENCODERS.utf8 },
    { charset: 'Shift_JIS', encode: ENCODERS.shiftJis },
  ])(
    'when a $charset form carries Japanese plan and email text, then it is stored exactly, not as mojibake',
    async ({ charset, encode }) => {
      const user = uid('jp', '-');
      // ソ and 表 end in byte 0x5C in Shift_JIS (a backslash in ASCII): the classic corruption case.
      const plan = 'プレミアム会員（月額）ソフト表示';
      const email = 'たろう@例え.jp';
      const body = myaspForm(
        {
          user_id: user,
          status: 1,
          plan,
          mail: email,
          amount: '１,９８０円',
          ts: japanTime(nextTs()),
        },
        encode,
      );
      const r = await postMyasp(svc.baseUrl, body, {
        contentType: `application/x-www-form-urlencoded; charset=${charset}`,
      });
      expect(r.status).toBe(200);
      const a = await statusBecomes(svc, `myasp:${user}`, 'active');
      expect(a).toMatchObject({ plan, email, amount: 1980 });
      const stored = await eventRow(r.body.event_id);
      expect(stored.payload).toMatchObject({ plan, mail: email, user_id: user });
    },
  );

  it('when a MyASP user is linked to a registered account, then its posts land on that account, not myasp:<id>', async () => {
    const user = uid('linked', '-');
    const accountId = uid('acct', '-');
    expect((await register(svc, { account_id: accountId, myasp_user_id: user })).status).toBe(201);
    const r = await postMyasp(
      svc.baseUrl,
      myaspForm({ user_id: user, status: 2, ts: japanTime(nextTs()) }),
    );
    expect(r.status).toBe(200);
    expect(r.body.account_id).toBe(accountId);
    await statusBecomes(svc, accountId, 'stopped');
    expect(await getAccount(svc, `myasp:${user}`)).toBeNull();
  });
});

describe('MyASP dedupe and ordering', () => {
  it('when the same post is repeated, then 200 duplicate:true with the same event, and nothing changes', async () => {
    const user = uid('dup', '-');
    const body = myaspForm({ user_id: user, status: 2, ts: japanTime(nextTs()) });
    const first = await postMyasp(svc.baseUrl, body);
    expect(first.body.duplicate).toBe(false);
    const before = await statusBecomes(svc, `myasp:${user}`, 'stopped');
    const again = await postMyasp(svc.baseUrl, body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      received: true,
      duplicate: true,
      event_id: first.body.event_id,
    });
    expect(await eventsOf(`myasp:${user}`)).toBe(1);
    expect(await getAccount(svc, `myasp:${user}`)).toEqual(before);
  });

  it('when the same content arrives with a later ts, then it is a new event (ts is part of the key)', async () => {
    const user = uid('ts', '-');
    const a = await postMyasp(
      svc.baseUrl,
      myaspForm({ user_id: user, status: 1, ts: japanTime(nextTs()) }),
    );
    const b = await postMyasp(
      svc.baseUrl,
      myaspForm({ user_id: user, status: 1, ts: japanTime(nextTs()) }),
    );
    expect(b.body.duplicate).toBe(false);
    expect(b.body.event_id).not.toBe(a.body.event_id);
    expect(await eventsOf(`myasp:${user}`)).toBe(2);
  });

  it('when an event_id is repeated with different content, then it is the same event and the state keeps the first', async () => {
    const user = uid('evid', '-');
    const eventId = uid('myasp-evt', '-');
    const first = await post('json', {
      event_id: eventId,
      user_id: user,
      status: 2,
      ts: nextTs().toISOString(),
    });
    await statusBecomes(svc, `myasp:${user}`, 'stopped');
    const again = await post('form', {
      event_id: eventId,
      user_id: user,
      status: 4,
      ts: nextTs().toISOString(),
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true, event_id: first.body.event_id });
    expect((await eventRow(first.body.event_id)).dedupe_key).toBe(`myasp:${eventId}`);
    expect((await getAccount(svc, `myasp:${user}`))?.status).toBe('stopped');
  });

  it('when a post older by ts arrives after a newer one, then it is stored as stale and the status does not go back', async () => {
    const user = uid('stale', '-');
    const older = nextTs();
    const newer = nextTs();
    await postMyasp(svc.baseUrl, myaspForm({ user_id: user, status: 2, ts: newer.toISOString() }));
    const applied = await statusBecomes(svc, `myasp:${user}`, 'stopped');
    const late = await postMyasp(
      svc.baseUrl,
      myaspForm({ user_id: user, status: 1, ts: older.toISOString() }),
    );
    expect(late.status).toBe(200);
    expect(late.body.duplicate).toBe(false);
    expect(await outcomeOf(svc, late.body.event_id)).toBe('stale');
    const after = await getAccount(svc, `myasp:${user}`);
    expect(after).toMatchObject({
      status: 'stopped',
      provider_status: '2',
      last_event_id: applied.last_event_id,
    });
  });
});

describe('MyASP refusals: a clear JSON error, recorded in webhook_rejections, nothing stored', () => {
  const base = () => ({ user_id: uid('bad', '-'), status: 1, ts: japanTime(nextTs()) });

  async function lastRejection(): Promise<Row> {
    const r = await svc.db.pool.query<Row>(
      "SELECT * FROM webhook_rejections WHERE source = 'myasp' ORDER BY id DESC LIMIT 1",
    );
    return r.rows[0] ?? {};
  }

  it.each<{ name: string; http: number; code: string; send: () => Promise<Answer> }>([
    {
      name: 'the user id is missing',
      http: 400,
      code: 'missing_user_id',
      send: () => postMyasp(svc.baseUrl, myaspForm({ status: 1, ts: japanTime(nextTs()) })),
    },
    {
      name: 'the status is unknown',
      http: 400,
      code: 'unknown_status',
      send: () => postMyasp(svc.baseUrl, myaspForm({ ...base(), status: 9 })),
    },
    {
      name: 'the ts cannot be parsed',
      http: 400,
      code: 'invalid_timestamp',
      send: () => postMyasp(svc.baseUrl, myaspForm({ ...base(), ts: 'yesterday 10時' })),
    },
    {
      name: 'the token is wrong',
      http: 401,
      code: 'invalid_token',
      send: () => postMyasp(svc.baseUrl, myaspForm(base()), { token: 'not-the-token' }),
    },
    {
      name: 'the token is missing',
      http: 401,
      code: 'missing_token',
      send: () => postMyasp(svc.baseUrl, myaspForm(base()), { token: null }),
    },
    {
      name: 'the header token disagrees with the query token',
      http: 401,
      code: 'token_mismatch',
      send: () => postMyasp(svc.baseUrl, myaspForm(base()), { headerToken: 'another-token' }),
    },
    {
      name: 'the JSON token is wrong',
      http: 401,
      code: 'invalid_token',
      send: () =>
        postMyasp(svc.baseUrl, JSON.stringify(base()), {
          contentType: 'application/json',
          token: null,
          headerToken: 'x'.repeat(28),
        }),
    },
  ])('when $name, then $http $code', async ({ http, code, send }) => {
    const eventsBefore = await count(svc, 'SELECT 1 FROM billing_events');
    const r = await send();
    expect(r.status).toBe(http);
    expect(r.body).toEqual({ error: { code, message: anyString } });
    expect(JSON.stringify(r.body)).not.toContain(SECRETS.myasp);
    const rejection = await lastRejection();
    expect(rejection).toMatchObject({ source: 'myasp', http_status: http, reason: code });
    expect(JSON.stringify(rejection)).not.toContain(SECRETS.myasp);
    expect(await count(svc, 'SELECT 1 FROM billing_events')).toBe(eventsBefore);
  });

  it('when the form declares a charset we do not support, then 415, recorded, and nothing stored', async () => {
    const fields = base();
    const r = await postMyasp(svc.baseUrl, myaspForm({ ...fields, plan: 'プレミアム' }), {
      contentType: 'application/x-www-form-urlencoded; charset=koi8-r',
    });
    expect(r.status).toBe(415);
    expect(r.body).toEqual({
      error: { code: 'unsupported_charset', message: stringContaining('Shift_JIS') },
    });
    expect(await lastRejection()).toMatchObject({
      http_status: 415,
      reason: 'unsupported_charset',
    });
    expect(await eventsOf(`myasp:${fields.user_id}`)).toBe(0);
  });

  it('when UTF-8 bytes are declared as Shift_JIS, then 400 invalid_encoding instead of storing mojibake', async () => {
    const fields = base();
    const r = await postMyasp(svc.baseUrl, myaspForm({ ...fields, plan: 'プレミアム会員' }), {
      contentType: 'application/x-www-form-urlencoded; charset=Shift_JIS',
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: { code: 'invalid_encoding' } });
    expect(await lastRejection()).toMatchObject({ http_status: 400, reason: 'invalid_encoding' });
    expect(await eventsOf(`myasp:${fields.user_id}`)).toBe(0);
  });
});
