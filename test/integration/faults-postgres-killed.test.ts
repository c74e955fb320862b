// SPEC §9 "faults": PostgreSQL killed hard (SIGKILL of the postmaster and its backends) while
// signed webhooks are in flight and an activity's transaction is open. The service runs in a
// process of its own, as in production, so a crash is visible as that process exiting. It must
// stay up, answer 503 + Retry-After while the database is gone, and 200 again once it is back;
// every 200 must be a stored event. Real PostgreSQL, real Temporal dev server, real HTTP.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import pg from 'pg';

import { guardPoolErrors } from '../../src/db/pool';
import { makeThrowawayDir } from '../../src/dev/local-stack';
import * as fx from '../fixtures/stripe';
import { type ChildHandle, startHelperProcess, stopHelperProcess } from '../helpers/child-process';
import { type Answer, postStripe } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import { killPostgresHard } from '../helpers/postgres-kill';
import { SECRETS } from '../helpers/secrets';
import { waitFor } from '../helpers/wait';

const ROUNDS = 5;
/**
 * Waits that include a workflow wake-up on a busy 2-core machine: the account workflow's batch is
 * retried within its 30 s start-to-close timeout, so twice that bounds it.
 */
const LOADED_WAIT_MS = 60_000;

type ServiceChild = ChildHandle<{ apiUrl: string }>;
type PostgresChild = ChildHandle<{ databaseUrl: string; port: number }>;

function expectAlive(service: ChildHandle<unknown>): void {
  if (service.exited)
    throw new Error(
      `The service process died (${JSON.stringify(service.exited)}):\n${service.stderr.join('\n')}`,
    );
}

interface Posted {
  stripeId: string;
  answer: Answer;
}

/** Signed Stripe events for fresh accounts, `loops` at a time, until `stop()` is called. */
function flood(baseUrl: string, loops: number, into: Posted[]) {
  let stopped = false;
  const one = async () => {
    while (!stopped) {
      const event = fx.subscriptionCreated({
        accountId: faultAccountId('flood'),
        customerId: fx.stripeId('cus'),
        subscriptionId: fx.stripeId('sub'),
        created: nowS(),
      });
      try {
        into.push({ stripeId: event.id, answer: await postStripe(baseUrl, event) });
      } catch (err) {
        // No HTTP answer at all: the process went away. Recorded, and the loop ends.
        const cause = (err as { cause?: unknown }).cause;
        const body = { no_answer: String(cause ?? err) };
        into.push({ stripeId: event.id, answer: { status: 0, body, headers: new Headers() } });
        return;
      }
    }
  };
  const running = Promise.all(Array.from({ length: loops }, one));
  return {
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

async function scrape(baseUrl: string): Promise<string> {
  return (await fetch(`${baseUrl}/metrics`)).text();
}

function bufferedRejections(metrics: string): number {
  const match = /^billing_webhook_rejections_buffered (\S+)$/m.exec(metrics);
  return match ? Number(match[1]) : NaN;
}

function droppedRejections(metrics: string): number {
  return [...metrics.matchAll(/^billing_webhook_rejections_dropped_total\{[^}]*\} (\S+)$/gm)]
    .map((m) => Number(m[1]))
    .reduce((a, b) => a + b, 0);
}

function expectOkOrUnavailable(p: Posted): void {
  const { status, headers, body } = p.answer;
  if (status === 200) {
    expect(body).toMatchObject({ received: true });
    return;
  }
  expect({ status, body }).toMatchObject({
    status: 503,
    body: { error: { code: 'database_unavailable' } },
  });
  expect(Number(headers.get('retry-after'))).toBeGreaterThan(0);
}

describe('PostgreSQL killed hard while webhooks are in flight', () => {
  const dataDir = path.join(makeThrowawayDir('billing-pg-kill-'), 'postgres');
  let postgres: PostgresChild | undefined;
  let databaseUrl = '';
  let port = 0;
  let service: ServiceChild | undefined;
  let pool: pg.Pool;

  beforeAll(async () => {
    postgres = await startHelperProcess('postgres-process.ts', [dataDir, '0', '--migrate']);
    ({ databaseUrl, port } = postgres.ready);
    pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
    guardPoolErrors(pool);
    service = await startHelperProcess('service-process.ts', [], {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS ?? '',
      TEMPORAL_NAMESPACE: process.env.TEST_TEMPORAL_NAMESPACE ?? 'default',
      TEMPORAL_TASK_QUEUE: `billing-test-${randomBytes(4).toString('hex')}`,
      STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
      MYASP_TOKEN: SECRETS.myasp,
      ADMIN_TOKEN: SECRETS.admin,
      PORT: '0',
      LOG_LEVEL: 'debug',
    });
  });
  afterAll(async () => {
    await stopHelperProcess(service);
    await pool?.end().catch(() => undefined);
    await stopHelperProcess(postgres);
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  it(`when PostgreSQL is SIGKILLed ${ROUNDS} times mid-stream, then the process stays up, answers only 200 or 503 + Retry-After, and every 200 is stored`, async () => {
    const svc = service as ServiceChild;
    const baseUrl = svc.ready.apiUrl;
    const posted: Posted[] = [];
    const heldEvents: string[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      // An account whose next event is being applied when the database dies: its row is locked
      // by another connection, so applyTransition waits inside its transaction.
      const parts = {
        accountId: faultAccountId(`held${round}`),
        customerId: fx.stripeId('cus'),
        subscriptionId: fx.stripeId('sub'),
      };
      const t = nowS();
      const first = fx.subscriptionCreated({ ...parts, created: t });
      const created = await postStripe(baseUrl, first);
      posted.push({ stripeId: first.id, answer: created });
      expect(created.status).toBe(200);
      await waitFor(
        async () => {
          const r = await pool.query('SELECT 1 FROM billing_accounts WHERE account_id = $1', [
            parts.accountId,
          ]);
          return r.rowCount === 1;
        },
        { what: `account ${parts.accountId} registered`, timeoutMs: LOADED_WAIT_MS },
      );
      const locker = new pg.Client({ connectionString: databaseUrl });
      locker.on('error', () => undefined);
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM billing_accounts WHERE account_id = $1 FOR UPDATE', [
        parts.accountId,
      ]);
      const second = fx.invoicePaymentFailed({ ...parts, created: t + 10 });
      const held = await postStripe(baseUrl, second);
      posted.push({ stripeId: second.id, answer: held });
      expect(held.status).toBe(200);
      heldEvents.push(String(held.body.event_id));
      await waitFor(
        async () => {
          const r = await pool.query(
            `SELECT 1 FROM pg_stat_activity
              WHERE wait_event_type = 'Lock' AND query ILIKE '%billing_accounts%'`,
          );
          return (r.rowCount ?? 0) > 0;
        },
        { what: 'the account’s batch waiting on the locked row', timeoutMs: LOADED_WAIT_MS },
      );

      const inFlight: Posted[] = [];
      const traffic = flood(baseUrl, 4, inFlight);
      await waitFor(() => Promise.resolve(inFlight.length >= 8), {
        what: 'webhooks flowing',
        timeoutMs: LOADED_WAIT_MS,
      });
      await killPostgresHard(dataDir);
      const killedAt = inFlight.length;
      await waitFor(
        () => {
          expectAlive(svc);
          return Promise.resolve(inFlight.slice(killedAt).some((p) => p.answer.status === 503));
        },
        { what: '503 answers while PostgreSQL is down', intervalMs: 5, timeoutMs: LOADED_WAIT_MS },
      );
      await traffic.stop();
      await locker.end().catch(() => undefined);
      posted.push(...inFlight);
      expectAlive(svc);
      // The 503s cannot be recorded yet: they wait in memory, and the scrape says how many.
      expect(bufferedRejections(await scrape(baseUrl))).toBeGreaterThan(0);

      // The helper that started the killed server is gone with it; start it again on its data.
      postgres?.child.kill('SIGKILL');
      postgres = await startHelperProcess('postgres-process.ts', [dataDir, String(port)]);
      const back = await waitFor(
        async () => {
          const e = fx.subscriptionCreated({
            accountId: faultAccountId('back'),
            customerId: fx.stripeId('cus'),
            subscriptionId: fx.stripeId('sub'),
            created: nowS(),
          });
          const answer = await postStripe(baseUrl, e);
          posted.push({ stripeId: e.id, answer });
          return answer.status === 200 ? answer : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: '200 again after PostgreSQL restarted' },
      );
      expect(back.body).toMatchObject({ received: true, duplicate: false });
      expectAlive(svc);
    }

    for (const p of posted) expectOkOrUnavailable(p);
    const acknowledged = posted.filter((p) => p.answer.status === 200);
    const stored = await pool.query<{ id: string; stripe_id: string }>(
      `SELECT id::text, payload->>'id' AS stripe_id FROM billing_events WHERE payload->>'id' = ANY($1::text[])`,
      [acknowledged.map((p) => p.stripeId)],
    );
    const storedIds = new Map(stored.rows.map((r) => [r.stripe_id, r.id]));
    for (const p of acknowledged)
      expect(storedIds.get(p.stripeId)).toBe(String(p.answer.body.event_id));
    expect(posted.some((p) => p.answer.status === 503)).toBe(true);

    // Every 503 is in webhook_rejections once the database is back (SPEC §9); only what
    // overflowed the outage buffer is missing, and that is counted.
    const unavailable = posted.filter((p) => p.answer.status === 503).length;
    const recorded = await waitFor(
      async () => {
        const r = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM webhook_rejections
            WHERE source = 'stripe' AND http_status = 503 AND reason = 'database_unavailable'`,
        );
        const n = r.rows[0]?.n ?? 0;
        const dropped = droppedRejections(await scrape(baseUrl));
        return n > 0 && n + dropped === unavailable ? { n, dropped } : undefined;
      },
      {
        what: `${unavailable} answers of 503 recorded in webhook_rejections or counted as dropped`,
      },
    );
    expect(recorded.n).toBeGreaterThanOrEqual(Math.min(unavailable, 1000));
    expect(bufferedRejections(await scrape(baseUrl))).toBe(0);

    // The transactions the kill interrupted are retried by Temporal and applied once.
    await waitFor(
      async () => {
        const r = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM billing_events WHERE id = ANY($1::bigint[]) AND outcome = 'applied'`,
          [heldEvents],
        );
        return r.rows[0]?.n === heldEvents.length;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'the interrupted transactions applied' },
    );
    expectAlive(svc);
  });
});
