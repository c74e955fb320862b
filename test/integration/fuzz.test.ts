// A bounded fuzz run over both webhook endpoints and the admin API: random and mutated bodies,
// headers, content types, charsets, sizes, signatures and tokens (seeded, so a failure can be
// replayed with FUZZ_SEED). Never a 5xx, never a crash, never a stored event without a valid
// signature or token, every non-2xx webhook answer in webhook_rejections, billing_accounts
// equal to a rebuild afterwards; and the service's own log (at debug level) holds no secret,
// token, signature or card-like number. RELIABILITY_LONG=1 sends ten times as many requests.
import iconv from 'iconv-lite';

import { rebuildProjection } from '../../src/ops/integrity';
import * as fx from '../fixtures/stripe';
import { faultAccountId, nowS } from '../helpers/ids';
import { LONG, reportFigures } from '../helpers/load';
import { findSecrets, TEST_SECRETS } from '../helpers/log-scan';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';
import { stripeV1Signature } from '../helpers/stripe-signing';
import { waitFor } from '../helpers/wait';

const REQUESTS = LONG ? 20_000 : 2_000;
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const CARD = '4242 4242 4242 4242';

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}
type Rand = ReturnType<typeof prng>;

interface Request {
  kind: 'stripe' | 'myasp' | 'admin';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The request proves its sender (a valid signature over these bytes, or the right token). */
  authentic: boolean;
  /** Secrets of this request that must never reach a log. */
  secrets: string[];
}

const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=shift_jis',
  'application/json; charset=bogus',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
];
const FORM_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=Shift_JIS',
  'application/x-www-form-urlencoded; charset=euc-jp',
  'application/json',
  'text/xml',
  '',
];

function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

function mutateBody(r: Rand, body: string): Buffer {
  switch (r.int(9)) {
    case 0:
      return r.bytes(r.int(2000));
    case 1:
      return Buffer.from(body.slice(0, r.int(body.length)));
    case 2: {
      const b = Buffer.from(body);
      for (let i = 0; i < 1 + r.int(5); i++) {
        const at = r.int(b.length);
        b[at] = (b[at] ?? 0) ^ (1 << r.int(8));
      }
      return b;
    }
    case 3:
      return Buffer.from(body.replace('"livemode"', '"nul\\u0000key"'));
    case 4:
      return Buffer.from(`{"a":${nested(2000 + r.int(50_000))}}`);
    case 5:
      return Buffer.alloc(600 * 1024 + r.int(100_000), 0x20);
    case 6:
      return Buffer.from(
        body.replace('"type":"', `"type":"${r.pick(['x.', '', 'invoice.', '\u00e9'])}`),
      );
    case 7:
      return Buffer.concat([Buffer.from(body), r.bytes(r.int(50))]);
    default:
      return Buffer.from(body);
  }
}

function stripeRequest(r: Rand): Request {
  const event = fx.subscriptionCreated({
    accountId: faultAccountId('fuzz'),
    customerId: fx.stripeId('cus'),
    subscriptionId: fx.stripeId('sub'),
    created: nowS(),
    metadata: { note: `card ${CARD}` },
  });
  const body =
    r.next() < 0.3 ? Buffer.from(JSON.stringify(event)) : mutateBody(r, JSON.stringify(event));
  const t = nowS();
  const secrets: string[] = [];
  let authentic = false;
  let signature: string | null;
  const sig = (secret: string, ts: number) => {
    const v1 = stripeV1Signature(body.toString('utf8'), secret, ts);
    secrets.push(v1);
    return v1;
  };
  switch (r.int(8)) {
    case 0:
      signature = null;
      break;
    case 1:
      signature = r
        .bytes(r.int(300))
        .toString('latin1')
        .replace(/[^\x20-\x7e]/g, '');
      break;
    case 2:
      signature = `t=${t},v1=${sig('whsec_someone_else', t)}`;
      break;
    case 3:
      signature = `t=${t - 3600},v1=${sig(SECRETS.stripe, t - 3600)}`;
      break;
    case 4:
      signature = `t=${t + 3600},v1=${sig(SECRETS.stripe, t + 3600)}`;
      break;
    case 5:
      signature = `t=${t},v1=${'0'.repeat(64)},v1=${sig(SECRETS.stripe, t)}`;
      authentic = true;
      break;
    default:
      signature = `t=${t},v1=${sig(SECRETS.stripe, t)}`;
      authentic = true;
  }
  // A body that is not valid UTF-8 is signed over other bytes than those sent: not authentic.
  if (authentic && !Buffer.from(body.toString('utf8')).equals(body)) authentic = false;
  const headers: Record<string, string> = { 'content-type': r.pick(JSON_TYPES) };
  if (signature !== null) headers['stripe-signature'] = signature;
  return {
    kind: 'stripe',
    method: 'POST',
    path: '/webhooks/stripe',
    headers,
    body,
    authentic,
    secrets,
  };
}

const NASTY = [
  '',
  ' ',
  '\u0000',
  'ユーザー',
  '😀',
  'a'.repeat(5000),
  '%',
  '&=&',
  '-1',
  '1.5',
  'null',
  CARD,
];

function myaspRequest(r: Rand): Request {
  const fields: Record<string, string> = {
    user_id: r.next() < 0.7 ? `u${r.int(1e9)}` : r.pick(NASTY),
    status: r.next() < 0.7 ? String(1 + r.int(4)) : r.pick(NASTY),
    ts: r.next() < 0.7 ? new Date().toISOString() : r.pick(NASTY),
    mail: `x${r.int(1000)}@example.jp`,
    name: r.pick(['山田太郎', 'ﾔﾏﾀﾞ', NASTY[r.int(NASTY.length)] as string]),
    memo: `card ${CARD}`,
  };
  if (r.next() < 0.2) for (let i = 0; i < 200 + r.int(2000); i++) fields[`f${i}`] = 'x';
  const form = new URLSearchParams(fields).toString();
  const contentType = r.pick(FORM_TYPES);
  let body: Buffer;
  switch (r.int(5)) {
    case 0:
      body = Buffer.from(iconv.encode(`user_id=${fields.user_id}&status=1&name=山田`, 'Shift_JIS'));
      break;
    case 1:
      body = r.bytes(r.int(3000));
      break;
    case 2:
      body = Buffer.from(JSON.stringify(fields));
      break;
    case 3:
      body = Buffer.alloc(70 * 1024, 0x61);
      break;
    default:
      body = Buffer.from(form);
  }
  const wrong = r.pick([
    'wrong-token',
    SECRETS.myasp.slice(0, -1),
    `${SECRETS.myasp}x`,
    '',
    't0k'.repeat(100),
  ]);
  const tokenCase = r.int(6);
  const query = new URLSearchParams();
  const headers: Record<string, string> = {};
  if (contentType) headers['content-type'] = contentType;
  let authentic = false;
  if (tokenCase <= 2) {
    query.set('token', SECRETS.myasp);
    authentic = true;
  } else if (tokenCase === 3) query.set('token', wrong);
  else if (tokenCase === 4) {
    query.set('token', SECRETS.myasp);
    headers['x-myasp-token'] = wrong.replace(/[^\x21-\x7e]/g, '') || 'x';
  }
  if (r.next() < 0.2) query.set('charset', r.pick(['Shift_JIS', 'utf-8', 'bogus']));
  const qs = query.toString();
  return {
    kind: 'myasp',
    method: 'POST',
    path: `/webhooks/myasp${qs ? `?${qs}` : ''}`,
    headers,
    body,
    authentic,
    secrets: [wrong].filter((w) => w.length >= 8),
  };
}

function adminRequest(r: Rand): Request {
  const id = r.pick([
    'acct_1',
    'a'.repeat(10_000),
    '%00',
    '%ff%fe',
    '..%2f..',
    'stripe:cus_1',
    '😀',
  ]);
  const limit = r.pick(['-1', '1.5', '0', '1e309', 'abc', '99999999999', '', '-0', 'NaN', '10']);
  const auth = r.next() < 0.9 ? `Bearer ${SECRETS.admin}` : r.pick(['Bearer nope', '', 'Basic x']);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth) headers.authorization = auth;
  const choice = r.int(6);
  const base = {
    kind: 'admin' as const,
    headers,
    authentic: auth.includes(SECRETS.admin),
    secrets: [],
  };
  if (choice === 0)
    return {
      ...base,
      method: 'GET',
      path: `/v1/accounts?limit=${limit}&cursor=${r.pick(['', 'x', '%00'])}`,
    };
  if (choice === 1)
    return { ...base, method: 'GET', path: `/v1/accounts/${id}/events?limit=${limit}` };
  if (choice === 2) return { ...base, method: 'GET', path: `/v1/accounts/${id}` };
  if (choice === 3)
    return {
      ...base,
      method: 'GET',
      path: `/v1/gate/${id}/${r.pick(['confirm', 'CONFIRM', '', '%00', 'x'.repeat(3000)])}`,
    };
  const body = r.pick([
    '{not json',
    '[]',
    'null',
    '{"account_id": 1}',
    `{"account_id": "${faultAccountId('fz')}", "trial_days": ${r.pick(['-1', '1.5', '1e309', '"x"', '3'])}}`,
    `{"account_id": "${faultAccountId('fz')}", "trial_end": "${r.pick(['yesterday', '2026-13-45', ''])}"}`,
  ]);
  return { ...base, method: 'POST', path: '/v1/accounts', body: Buffer.from(body) };
}

interface Answered {
  req: Request;
  status: number;
  body: string;
}

describe(`a fuzz run of ${REQUESTS} requests (seed ${SEED})`, () => {
  let svc: TestService;
  const logLines: string[] = [];
  const answered: Answered[] = [];

  beforeAll(async () => {
    svc = await startService({
      onLogLine: (line) => void logLines.push(line),
      env: {
        ADMIN_RATE_LIMIT_PER_MINUTE: '1000000',
        AUTH_FAILURE_LIMIT_PER_MINUTE: '1000000',
        LOG_LEVEL: 'debug',
      },
    });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when thousands of random and mutated requests arrive, then none is answered 5xx or crashes the service, nothing is stored without authentication, and every webhook refusal is recorded', async () => {
    const r = prng(SEED);
    const requests = Array.from({ length: REQUESTS }, () =>
      r.pick([stripeRequest, stripeRequest, myaspRequest, myaspRequest, adminRequest])(r),
    );
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const req = requests[i] as Request;
        const res = await fetch(svc.baseUrl + req.path, {
          method: req.method,
          headers: req.headers,
          body: req.body,
        });
        answered.push({ req, status: res.status, body: await res.text() });
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));

    const byStatus: Record<number, number> = {};
    for (const a of answered) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    const serverErrors = answered.filter((a) => a.status >= 500);
    expect(
      serverErrors.map(
        (a) => `${a.req.method} ${a.req.path.slice(0, 80)} → ${a.status} ${a.body.slice(0, 200)}`,
      ),
    ).toEqual([]);
    expect((await fetch(`${svc.baseUrl}/healthz`)).status).toBe(200);

    // Nothing stored without a valid signature or token.
    const accepted = answered.filter((a) => a.req.kind !== 'admin' && a.status < 300);
    expect(accepted.filter((a) => !a.req.authentic)).toEqual([]);
    const admitted = answered.filter((a) => a.req.kind === 'admin' && a.status < 300);
    expect(admitted.filter((a) => !a.req.authentic)).toEqual([]);
    const newEvents =
      accepted.filter((a) => (JSON.parse(a.body) as { duplicate?: boolean }).duplicate === false)
        .length + admitted.filter((a) => a.status === 201).length;
    const stored = await svc.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM billing_events',
    );
    expect(stored.rows[0]?.n).toBe(newEvents);

    // Every webhook refusal is in webhook_rejections.
    const refused = answered.filter((a) => a.req.kind !== 'admin' && a.status >= 300).length;
    await waitFor(
      async () => {
        const n = await svc.db.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM webhook_rejections',
        );
        return n.rows[0]?.n === refused;
      },
      { timeoutMs: 30_000, what: `${refused} refusals in webhook_rejections` },
    );
    // The projection is what the stored events produce.
    await waitFor(
      async () => {
        const n = await svc.db.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM billing_events WHERE outcome IS NULL',
        );
        return n.rows[0]?.n === 0;
      },
      { timeoutMs: 60_000, what: 'every stored event processed' },
    );
    const rebuild = await rebuildProjection(svc.db.pool, { apply: false });
    expect(rebuild).toMatchObject({ ok: true, differing: [], missing: [], extra: [] });
    reportFigures('fuzz', {
      seed: SEED,
      requests: answered.length,
      by_status: byStatus,
      stored_events: newEvents,
      rejections_recorded: refused,
      server_errors: serverErrors.length,
    });
  });

  it("when the run is over, then the service's debug log holds no secret, token, signature or card-like number", () => {
    expect(logLines.length).toBeGreaterThan(0);
    const sent = answered.flatMap((a) => a.req.secrets);
    expect(findSecrets(logLines.join(''), [...TEST_SECRETS, ...sent])).toEqual([]);
  });
});
