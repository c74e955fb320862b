// Notifications to the host app (SPEC §10) on the real service: every change of an account's
// visible billing state reaches a receiver that verifies each signature with the
// `standardwebhooks` library, once, in seq order; duplicates, stale and no-op events send
// nothing; the pull returns the same changes in commit order; endpoints are managed over the API
// and a 410 disables one.
import {
  decodeCursor,
  encodeCursor,
  insertChanges,
  listChangesAfter,
} from '../../src/db/queries/billing-changes';
import { rebuildProjection } from '../../src/ops/integrity';
import { japanTime, myaspForm, register, statusBecomes } from '../helpers/accounts';
import { runCli } from '../helpers/cli';
import { json, postMyasp } from '../helpers/http';
import { uid } from '../helpers/ids';
import { seqsOf, startReceiver, type TestReceiver } from '../helpers/notify-receiver';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/wait';

let svc: TestService;
let receiver: TestReceiver;

beforeAll(async () => {
  receiver = await startReceiver(SECRETS.notify);
  svc = await startService({
    env: {
      NOTIFY_URL: receiver.url,
      NOTIFY_SECRET: SECRETS.notify,
      NOTIFY_ALLOW_PRIVATE: 'true',
    },
  });
});
afterAll(async () => {
  await svc?.stop();
  await receiver?.close();
});

let clock = Date.now() - 3_600_000;
const nextTs = () => japanTime(new Date((clock += 10_000)));

async function myasp(user: string, status: number, ts = nextTs()): Promise<string> {
  const body = myaspForm({ user_id: user, status, ts });
  expect((await postMyasp(svc.baseUrl, body)).status).toBe(200);
  return body;
}

async function changesOf(account: string): Promise<Record<string, unknown>[]> {
  const r = await json(svc.admin(`/v1/changes?account_id=${encodeURIComponent(account)}`));
  return (r.body as { changes: Record<string, unknown>[] }).changes;
}

/** Every stored event of the account has its outcome. */
const allApplied = (account: string) =>
  waitFor(
    async () => {
      const r = await svc.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM billing_events WHERE account_id = $1 AND outcome IS NULL`,
        [account],
      );
      return r.rows[0]?.n === 0;
    },
    { what: `every event of ${account} applied` },
  );

const arrived = (account: string, n: number) =>
  waitFor(() => Promise.resolve(seqsOf(receiver, account).length >= n), {
    what: `${n} notifications for ${account}`,
    timeoutMs: 30_000,
  });

describe('notifications to the host app', () => {
  it('when an account changes three times, then three signed messages arrive in seq order, with the body SPEC §10 names', async () => {
    const user = uid('n', '-');
    const account = `myasp:${user}`;
    await myasp(user, 1);
    await statusBecomes(svc, account, 'active');
    await myasp(user, 2);
    await statusBecomes(svc, account, 'stopped');
    await myasp(user, 3);
    await statusBecomes(svc, account, 'active');
    await arrived(account, 3);
    expect(seqsOf(receiver, account)).toEqual([1, 2, 3]);
    expect(receiver.unverified).toBe(0);
    const messages = receiver.accepted.filter((m) => m.body.data.account_id === account);
    const [first, second] = messages;
    expect(first?.id).toBe(first?.body.data.change_id);
    expect(first?.id).toMatch(/^chg_[0-9a-f]{32}$/);
    expect(first?.body).toEqual({
      type: 'billing.status_changed',
      timestamp: expect.any(String) as unknown,
      data: {
        account_id: account,
        seq: 1,
        change_id: first?.id,
        previous: null,
        current: expect.objectContaining({
          status: 'active',
          scheduled_cancel_at: null,
        }) as unknown,
        reason: 'myasp_status_changed',
        cause: {
          event_id: expect.any(String) as unknown,
          source: 'myasp',
          event_type: expect.any(String) as unknown,
          occurred_at: expect.any(String) as unknown,
        },
      },
    });
    expect(second?.body.data).toMatchObject({
      seq: 2,
      previous: { status: 'active' },
      current: { status: 'stopped' },
    });
    // The pull answers the same changes, with the same ids.
    const pulled = await changesOf(account);
    expect(pulled.map((c) => c.change_id)).toEqual(messages.map((m) => m.id));
  });

  it('when a webhook is repeated, arrives stale or changes nothing, then no change is recorded and nothing is sent', async () => {
    const user = uid('quiet', '-');
    const account = `myasp:${user}`;
    const early = nextTs();
    const first = await myasp(user, 1);
    await statusBecomes(svc, account, 'active');
    await arrived(account, 1);
    expect((await postMyasp(svc.baseUrl, first)).status).toBe(200); // duplicate
    await myasp(user, 2, early); // stale: older than what the membership says
    await myasp(user, 1); // no-op: still active, same deciding object
    await allApplied(account);
    const outcomes = await svc.db.pool.query<{ outcome: string }>(
      `SELECT outcome FROM billing_events WHERE account_id = $1 ORDER BY id`,
      [account],
    );
    expect(outcomes.rows.map((r) => r.outcome)).toEqual(['applied', 'stale', 'applied']);
    expect(await changesOf(account)).toHaveLength(1);
    expect(seqsOf(receiver, account)).toEqual([1]);
  });

  it('when changes are pulled page by page, then each comes once, in commit order, and the cursor ends where it stands', async () => {
    const accounts = [uid('pa', '-'), uid('pb', '-')];
    for (const a of accounts)
      expect((await register(svc, { account_id: a, trial_days: 3 })).status).toBe(201);
    const seen: string[] = [];
    let cursor = '';
    for (let page = 0; page < 1000; page++) {
      const r = await json(svc.admin(`/v1/changes?limit=2${cursor ? `&after=${cursor}` : ''}`));
      const body = r.body as { changes: { change_id: string }[]; next_cursor: string | null };
      seen.push(...body.changes.map((c) => c.change_id));
      if (body.changes.length === 0) {
        expect(body.next_cursor).toBe(cursor || null);
        break;
      }
      cursor = body.next_cursor ?? '';
    }
    expect(new Set(seen).size).toBe(seen.length);
    const all = await svc.db.pool.query<{ change_id: string }>(
      `SELECT change_id FROM billing_changes ORDER BY xid, id`,
    );
    expect(seen).toEqual(all.rows.map((r) => r.change_id));
    // A gate token (what a host app holds) may pull too; a bad cursor is a clear 400.
    const asHost = await json(
      fetch(`${svc.baseUrl}/v1/changes?limit=1`, {
        headers: { authorization: `Bearer ${SECRETS.gate}` },
      }),
    );
    expect(asHost.status).toBe(200);
    const bad = await json(svc.admin('/v1/changes?after=not-a-cursor'));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'invalid_cursor' } });
  });

  it('when an endpoint is added over the API, then its secret is shown once, it receives signed messages, and a 410 disables it', async () => {
    const second = await startReceiver(SECRETS.notify); // the secret is replaced below
    try {
      const created = await json(
        svc.admin('/v1/notification-endpoints', {
          method: 'POST',
          body: JSON.stringify({ url: second.url, types: ['billing.status_changed'] }),
        }),
      );
      expect(created.status).toBe(201);
      const endpoint = (created.body as { endpoint: { id: string; secret: string } }).endpoint;
      expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      const listed = await json(svc.admin('/v1/notification-endpoints'));
      expect(JSON.stringify(listed.body)).not.toContain(endpoint.secret);
      expect(listed.body).toMatchObject({
        endpoints: expect.arrayContaining([
          expect.objectContaining({ id: endpoint.id, types: ['billing.status_changed'] }),
        ]) as unknown,
      });
      const verifier = await startReceiver(endpoint.secret);
      await second.close();
      // Point a fresh receiver (verifying with the shown secret) at the same endpoint id.
      await svc.db.pool.query(`UPDATE notification_endpoints SET url = $2 WHERE id = $1`, [
        endpoint.id,
        verifier.url,
      ]);
      try {
        const user = uid('ep', '-');
        const account = `myasp:${user}`;
        await myasp(user, 1);
        await waitFor(() => Promise.resolve(seqsOf(verifier, account).length >= 1), {
          what: 'the added endpoint received',
        });
        expect(verifier.unverified).toBe(0);
        verifier.answer = () => ({ status: 410 });
        await myasp(user, 2);
        await waitFor(
          async () => {
            const r = await json(svc.admin('/v1/notification-endpoints'));
            const eps = (r.body as { endpoints: { id: string; disabled_at: string | null }[] })
              .endpoints;
            return eps.find((e) => e.id === endpoint.id)?.disabled_at;
          },
          { what: 'the endpoint disabled after 410' },
        );
        const tries = verifier.attempts.length;
        await myasp(user, 3);
        await arrived(account, 3); // the configured endpoint still gets everything
        expect(verifier.attempts.length).toBe(tries);
      } finally {
        await verifier.close();
      }
      const gone = await json(
        svc.admin(`/v1/notification-endpoints/${endpoint.id}`, { method: 'DELETE' }),
      );
      expect(gone.status).toBe(200);
    } finally {
      await second.close().catch(() => undefined);
    }
  });

  it('when an endpoint URL is not http(s), then it is refused with a clear error', async () => {
    const r = await json(
      svc.admin('/v1/notification-endpoints', {
        method: 'POST',
        body: JSON.stringify({ url: 'ftp://example.com/x' }),
      }),
    );
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: { code: 'invalid_endpoint_url' } });
  });

  it('when a long random history of posts (repeats, stale and no-op ones among them) is applied, then each account gets exactly one message per change, in seq order, chained to its final state', async () => {
    let seed = 20261207;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const users = Array.from({ length: 4 }, () => uid('h', '-'));
    const sent: string[] = [];
    const base = Date.now() - 2 * 3_600_000;
    for (let i = 0; i < 60; i++) {
      const user = users[rnd(users.length)] ?? '';
      const pick = rnd(10);
      if (pick === 0 && sent.length > 0) {
        // A repeat of an earlier post (the provider retried it).
        expect((await postMyasp(svc.baseUrl, sent[rnd(sent.length)] ?? '')).status).toBe(200);
        continue;
      }
      // Times jump around: some posts are older than what the membership already says (stale).
      const ts = japanTime(new Date(base + (i + (rnd(4) === 0 ? -rnd(20) : 0)) * 60_000));
      const body = myaspForm({ user_id: user, status: 1 + rnd(4), ts });
      expect((await postMyasp(svc.baseUrl, body)).status).toBe(200);
      sent.push(body);
    }
    for (const user of users) {
      const account = `myasp:${user}`;
      await allApplied(account);
      const changes = await changesOf(account);
      await arrived(account, changes.length);
      const messages = receiver.accepted.filter((m) => m.body.data.account_id === account);
      expect(messages.map((m) => m.id)).toEqual(changes.map((c) => c.change_id));
      expect(messages.map((m) => m.body.data.seq)).toEqual(changes.map((_, i) => i + 1));
      // Each change starts where the one before ended, and the last is the account as it stands.
      const data = messages.map(
        (m) => m.body.data as unknown as { previous: unknown; current: unknown },
      );
      data.forEach((d, i) => {
        if (i > 0) expect(d.previous).toEqual(data[i - 1]?.current);
      });
      const row = await svc.db.pool.query<{ status: string }>(
        `SELECT status FROM billing_accounts WHERE account_id = $1`,
        [account],
      );
      expect((data.at(-1)?.current as { status: string } | undefined)?.status).toBe(
        row.rows[0]?.status,
      );
    }
    expect(receiver.unverified).toBe(0);
  });

  it('when the projection is rebuilt and reproduces itself, then no change is recorded and nothing is sent; when it corrects a hand edit, the correction is a new change with the next seq', async () => {
    const user = uid('rb', '-');
    const account = `myasp:${user}`;
    await myasp(user, 1);
    await statusBecomes(svc, account, 'active');
    await arrived(account, 1);
    const changesBefore = await svc.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM billing_changes`,
    );
    const attemptsBefore = receiver.attempts.length;
    const same = await rebuildProjection(svc.db.pool, { apply: true });
    expect(same.written).toEqual([]);
    const changesAfter = await svc.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM billing_changes`,
    );
    expect(changesAfter.rows[0]?.n).toBe(changesBefore.rows[0]?.n);
    // A hand edit (what invariant 2 forbids) is put right by the rebuild, and the host told.
    await svc.db.pool.query(
      `UPDATE billing_accounts SET status = 'canceled' WHERE account_id = $1`,
      [account],
    );
    const fixed = await rebuildProjection(svc.db.pool, { apply: true });
    expect(fixed.written).toEqual([account]);
    await arrived(account, 2);
    const second = receiver.accepted.filter((m) => m.body.data.account_id === account)[1];
    expect(second?.body.data).toMatchObject({
      seq: 2,
      reason: 'rebuild',
      cause: null,
      previous: { status: 'canceled' },
      current: { status: 'active' },
    });
    expect(receiver.attempts.length).toBe(attemptsBefore + 1);
  });

  it('when two transactions write changes and the one with the smaller id commits last, then the pull never passes over it', async () => {
    const draft = (account: string) => ({
      account_id: account,
      type: 'billing.status_changed' as const,
      previous: null,
      current: {
        status: 'free' as const,
        scheduled_cancel_at: null,
        grace_until: null,
        trial_end: null,
        status_object: 'trial',
      },
      reason: 'account_registered',
      cause: null,
    });
    const head = await listChangesAfter(svc.db.pool, null, 100_000);
    let cursor = head.next;
    const early = await svc.db.pool.connect();
    const late = await svc.db.pool.connect();
    const [a, b] = [uid('tx-early', '-'), uid('tx-late', '-')];
    try {
      await early.query('BEGIN');
      await insertChanges(early, a, [draft(a)]); // the smaller id, still uncommitted
      await late.query('BEGIN');
      await insertChanges(late, b, [draft(b)]);
      await late.query('COMMIT');
      const ids = await svc.db.pool.query<{ account_id: string; id: string }>(
        `SELECT account_id, id::text FROM billing_changes WHERE account_id IN ($1, $2)`,
        [a, b],
      );
      expect(ids.rows.map((r) => r.account_id)).toEqual([b]);
      // The committed later row is held back while the earlier transaction runs.
      const meanwhile = await listChangesAfter(svc.db.pool, cursor, 100);
      expect(meanwhile.changes.map((c) => c.account_id)).not.toContain(b);
      cursor = meanwhile.next;
      await early.query('COMMIT');
    } finally {
      early.release();
      late.release();
    }
    const text = cursor ? encodeCursor(cursor) : '';
    const after = await listChangesAfter(svc.db.pool, text ? decodeCursor(text) : null, 100);
    const order = after.changes.map((c) => c.account_id).filter((x) => x === a || x === b);
    expect(order).toEqual([a, b]);
  });

  it('when a message ran out of retries, then /metrics counts it, `ops notifications list` names it and `retry` sends it again with the same webhook-id', async () => {
    const user = uid('cli', '-');
    const account = `myasp:${user}`;
    await myasp(user, 1);
    await arrived(account, 1);
    const [change] = await changesOf(account);
    const changeId = String(change?.change_id);
    await svc.db.pool.query(
      `INSERT INTO notification_endpoints (id, url, secret, source) VALUES ('ep_cli', $1, $2, 'api')`,
      [receiver.url, SECRETS.notify],
    );
    await svc.db.pool.query(
      `INSERT INTO notification_messages (endpoint_id, change_id, account_id, seq, attempts, failed_at, last_status, last_error)
       VALUES ('ep_cli', $1, $2, 1, 12, now(), 500, 'HTTP 500')`,
      [changeId, account],
    );
    const metric = async (name: string) => {
      const text = await (await fetch(`${svc.baseUrl}/metrics`)).text();
      return Number(new RegExp(`^${name}\\{endpoint="ep_cli"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    };
    expect(await metric('billing_notifications_failed')).toBe(1);
    const listed = await runCli(svc, ['notifications', 'list', '--endpoint', 'ep_cli']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(changeId);
    expect(listed.stdout).not.toContain(SECRETS.notify);
    const before = receiver.attempts.filter((m) => m.id === changeId).length;
    const retried = await runCli(svc, ['notifications', 'retry', '--endpoint', 'ep_cli']);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain('1 failed message(s) queued again');
    await waitFor(
      () => Promise.resolve(receiver.attempts.filter((m) => m.id === changeId).length > before),
      { what: 'the failed message sent again' },
    );
    await waitFor(async () => (await metric('billing_notifications_sent')) === 1, {
      what: 'the message counted as sent',
    });
    expect(await metric('billing_notifications_failed')).toBe(0);
    await svc.db.pool.query(
      `UPDATE notification_endpoints SET deleted_at = now() WHERE id = 'ep_cli'`,
    );
  });
});
