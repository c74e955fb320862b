// SPEC §4.4, §4.5 and §9 "faults", the PostgreSQL side, over HTTP against the real service:
// PostgreSQL unreachable, a database too slow to answer before the provider gives up, and an
// activity whose transaction the database refuses until a lock is released (Temporal retries it;
// the worker is replaced meanwhile). Real PostgreSQL, real Temporal dev server, real locks.
import { randomBytes } from 'node:crypto';

import type pg from 'pg';

import { loadConfig } from '../../src/config';
import { findFreePort } from '../../src/dev/local-stack';
import { type Running, runServices } from '../../src/runtime';
import { accountWorkflowId } from '../../src/temporal/ids';
import * as fx from '../fixtures/stripe';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { json, postStripe } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';
import { connectToDevServer, type DevServerClient } from '../helpers/temporal';
import { createTestLogger } from '../helpers/test-logs';
import { waitFor } from '../helpers/wait';

function subscriptionParts(accountId: string) {
  return { accountId, customerId: fx.stripeId('cus'), subscriptionId: fx.stripeId('sub') };
}

function expectDatabaseUnavailable(r: { status: number; body: unknown; headers: Headers }): void {
  expect(r.status).toBe(503);
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  const body = r.body as { error?: { code?: unknown; message?: unknown } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error?.code).toBe('database_unavailable');
  expect(typeof body.error?.message).toBe('string');
}

async function storedCount(pool: pg.Pool, stripeEventId: string): Promise<number> {
  const r = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM billing_events WHERE payload->>'id' = $1`,
    [stripeEventId],
  );
  return r.rows[0]?.n ?? -1;
}

async function outcomeOf(pool: pg.Pool, eventId: unknown): Promise<string | null> {
  const r = await pool.query<{ outcome: string | null }>(
    'SELECT outcome FROM billing_events WHERE id = $1',
    [eventId],
  );
  return r.rows[0]?.outcome ?? null;
}

function applied(pool: pg.Pool, eventId: unknown, timeoutMs = 20_000): Promise<string> {
  return waitFor(
    async () => ((await outcomeOf(pool, eventId)) === 'applied' ? 'applied' : undefined),
    {
      timeoutMs,
      what: `event ${String(eventId)} applied`,
    },
  );
}

/** Runs `body` while another connection holds a lock taken by `lockSql`, then rolls it back. */
async function whileLocked<T>(
  pool: pg.Pool,
  lockSql: string,
  params: unknown[],
  body: () => Promise<T>,
): Promise<T> {
  const locker = await pool.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(lockSql, params);
    return await body();
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    locker.release();
  }
}

describe('PostgreSQL down', () => {
  let running: Running | undefined;
  let baseUrl = '';

  beforeAll(async () => {
    // The API exactly as `npm start -- --role=api` runs it, but its DATABASE_URL names a port
    // nobody listens on (no migrations: they would fail before the server listens).
    const databaseUrl = `postgres://postgres:postgres@127.0.0.1:${await findFreePort()}/billing`;
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: process.env.TEST_TEMPORAL_NAMESPACE ?? 'default',
      TEMPORAL_TASK_QUEUE: `billing-test-${randomBytes(4).toString('hex')}`,
      STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
      ADMIN_TOKEN: SECRETS.admin,
      PORT: '0',
      LOG_LEVEL: 'debug',
    });
    running = await runServices(config, 'api', createTestLogger('api').logger, {
      migrate: false,
      schedules: false,
      sweepIntervalMs: 200,
      sweepMinAgeMs: 100,
    });
    baseUrl = running.info.apiUrl ?? '';
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('when a signed Stripe event arrives, then 503 database_unavailable with Retry-After, promptly, and it is not acknowledged', async () => {
    const acct = faultAccountId('pg_down');
    const started = Date.now();
    const r = await postStripe(
      baseUrl,
      fx.subscriptionCreated({ ...subscriptionParts(acct), created: nowS() }),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expectDatabaseUnavailable(r);
    expect(r.body).not.toHaveProperty('received');
  });

  it('when the event names no account (resolution needs the database), then also 503 database_unavailable', async () => {
    const r = await postStripe(
      baseUrl,
      fx.invoicePaymentFailed({ customerId: fx.stripeId('cus'), created: nowS() }),
    );
    expectDatabaseUnavailable(r);
  });

  it('when readiness is asked, then 503 with postgres false and Temporal still true', async () => {
    const r = await json(fetch(`${baseUrl}/readyz`));
    expect(r).toMatchObject({ status: 503, body: { ok: false, postgres: false, temporal: true } });
    expect(r.headers.get('retry-after')).not.toBeNull();
  });

  it('when metrics are scraped, then the answer is 200 with the in-process counters and NaN for database gauges', async () => {
    const res = await fetch(`${baseUrl}/metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toMatch(/^confirm_total \d+$/m);
    // prom-client writes NaN as "Nan".
    expect(text).toMatch(/^billing_events_pending nan$/im);
    expect(text).toMatch(/^billing_last_sync_age_seconds nan$/im);
  });
});

describe('A slow database and an activity the database refuses (DB_STATEMENT_TIMEOUT_MS=500)', () => {
  const STATEMENT_TIMEOUT_MS = 500;
  const taskQueue = `billing-test-${randomBytes(4).toString('hex')}`;
  const env = {
    DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    TEMPORAL_TASK_QUEUE: taskQueue,
    DELIVERY_WAIT_MS: '1500',
  };
  let db: TestDatabase;
  let api: TestService | undefined;
  let worker: TestService | undefined;
  let temporal: DevServerClient | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    // API and worker as separate processes would run them (`npm run api`, `npm run worker`).
    api = await startService({ db, role: 'api', env });
    worker = await startService({ db, role: 'worker', env });
    temporal = await connectToDevServer();
  });
  afterAll(async () => {
    await api?.stop();
    await worker?.stop();
    await temporal?.close();
    await db?.drop();
  });

  it('when billing_events is locked while a webhook arrives, then 503 database_unavailable within 2 s; after the lock is gone the retried POST is 200 and stored once', async () => {
    const service = api as TestService;
    const acct = faultAccountId('slow');
    const event = fx.subscriptionCreated({ ...subscriptionParts(acct), created: nowS() });

    const { first, ms } = await whileLocked(
      db.pool,
      'LOCK TABLE billing_events IN ACCESS EXCLUSIVE MODE',
      [],
      async () => {
        const started = Date.now();
        const answer = await postStripe(service.baseUrl, event);
        return { first: answer, ms: Date.now() - started };
      },
    );
    expectDatabaseUnavailable(first);
    expect(ms).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 50);
    // Bounded by the configured statement timeout, far below a provider's own timeout.
    expect(ms).toBeLessThan(STATEMENT_TIMEOUT_MS * 4);
    expect(await storedCount(db.pool, event.id)).toBe(0);
    const recorded = await waitFor(
      async () => {
        const r = await db.pool.query<{ http_status: number; reason: string }>(
          "SELECT http_status, reason FROM webhook_rejections WHERE source = 'stripe' AND http_status = 503",
        );
        return r.rows.length > 0 ? r.rows : undefined;
      },
      { what: 'the 503 recorded in webhook_rejections' },
    );
    expect(recorded).toEqual([{ http_status: 503, reason: 'database_unavailable' }]);

    const retried = await postStripe(service.baseUrl, event);
    expect(retried).toMatchObject({ status: 200, body: { received: true, duplicate: false } });
    const again = await postStripe(service.baseUrl, event);
    expect(again).toMatchObject({
      status: 200,
      body: { duplicate: true, event_id: retried.body.event_id },
    });
    expect(await storedCount(db.pool, event.id)).toBe(1);
    await applied(db.pool, retried.body.event_id);
  });

  it('when the account row is locked while its event is applied, then the transaction rolls back and is retried; a fresh worker applies it exactly once after the lock is gone', async () => {
    const service = api as TestService;
    const client = (temporal as DevServerClient).client;
    const parts = subscriptionParts(faultAccountId('retry'));
    const t = nowS();
    const created = await postStripe(
      service.baseUrl,
      fx.subscriptionCreated({ ...parts, created: t }),
    );
    await applied(db.pool, created.body.event_id);
    const handle = client.workflow.getHandle(accountWorkflowId(parts.accountId));

    const failedId = await whileLocked(
      db.pool,
      'SELECT 1 FROM billing_accounts WHERE account_id = $1 FOR UPDATE',
      [parts.accountId],
      async () => {
        const failed = await postStripe(
          service.baseUrl,
          fx.invoicePaymentFailed({ ...parts, created: t + 10 }),
        );
        expect(failed).toMatchObject({ status: 200, body: { delivery: 'accepted_by_workflow' } });
        // The batch (a local activity) times out on the locked row and is attempted again: each
        // attempt is a new statement waiting for the lock.
        const attempts = new Set<string>();
        await waitFor(
          async () => {
            const r = await db.pool.query<{ query_start: string }>(
              `SELECT query_start FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO billing_accounts%'`,
            );
            for (const row of r.rows) attempts.add(row.query_start);
            return attempts.size >= 2;
          },
          { timeoutMs: 20_000, intervalMs: 100, what: 'applyPendingEvents attempted again' },
        );
        // Its outcome, the projection and the audit row were rolled back together (SPEC §4.4).
        expect(await outcomeOf(db.pool, failed.body.event_id)).toBeNull();
        const audit = await db.pool.query('SELECT 1 FROM audit_logs WHERE event_id = $1', [
          failed.body.event_id,
        ]);
        expect(audit.rowCount).toBe(0);
        const account = await db.pool.query(
          'SELECT status FROM billing_accounts WHERE account_id = $1',
          [parts.accountId],
        );
        expect(account.rows[0]).toEqual({ status: 'active' });

        // The worker goes away mid-retry; another one takes over the task queue.
        await (worker as TestService).stop();
        worker = await startService({ db, role: 'worker', env });
        return failed.body.event_id;
      },
    );

    await applied(db.pool, failedId);
    const after = await json(service.admin(`/v1/accounts/${parts.accountId}`));
    expect(after.body).toMatchObject({ status: 'past_due', last_event_id: failedId });
    const audit = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM audit_logs WHERE event_id = $1',
      [failedId],
    );
    expect(audit.rows[0]?.n).toBe(1);
    const seq = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM billing_events WHERE account_id = $1 AND processed_seq IS NOT NULL',
      [parts.accountId],
    );
    expect(seq.rows[0]?.n).toBe(2);
    await waitFor(
      async () => ((await handle.describe()).raw.pendingActivities?.length ?? 0) === 0,
      { what: 'no pending activity' },
    );
  });
});
