// Issue "reliability under load": a renewal burst of signed webhooks over loopback while a
// process is SIGKILLed — the whole service (API + worker in one process), or the worker alone
// with the API running in a process of its own. After recovery every acknowledged event has
// exactly one outcome and one audit row, each account's events were processed in the order they
// were acknowledged, and billing_accounts equals a rebuild from billing_events.
// Short form in CI; RELIABILITY_LONG=1 sends more events and kills more often.
import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { findFreePort } from '../../src/dev/local-stack';
import { BILLING_DB_START_TO_CLOSE_MS } from '../../workflows/proxies';
import * as fx from '../fixtures/stripe';
import {
  killHard,
  type ServiceChild,
  startServiceProcess,
  stopHelperProcess,
} from '../helpers/child-process';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { postStripe } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import {
  type Ack,
  checkLedger,
  LONG,
  NOTHING_LOST,
  renewalBurst,
  reportFigures,
  sendStream,
} from '../helpers/load';
import { waitFor } from '../helpers/wait';

const ACCOUNTS = LONG ? 400 : 60;
const HOT_EVENTS = LONG ? 300 : 60;
const KILLS = LONG ? 3 : 1;

const taskQueue = () => `billing-test-${randomBytes(4).toString('hex')}`;

describe('the whole service SIGKILLed mid-stream', () => {
  let db: TestDatabase;
  let service: ServiceChild | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await stopHelperProcess(service);
    await db?.drop();
  });

  it(`when the service process is killed ${KILLS} time(s) during a burst and restarted, then nothing acknowledged is lost or applied twice`, async () => {
    const port = await findFreePort();
    const queue = taskQueue();
    const start = () =>
      startServiceProcess({ databaseUrl: db.databaseUrl, taskQueue: queue, port });
    service = await start();
    const stream = renewalBurst({ label: 'svckill', accounts: ACCOUNTS, hotEvents: HOT_EVENTS });
    const sender = sendStream(() => `http://127.0.0.1:${port}`, stream, { concurrency: 8 });
    let inFlightAtKill = 0;
    for (let k = 1; k <= KILLS; k++) {
      const at = Math.floor((stream.total * k) / (KILLS + 2));
      await waitFor(() => Promise.resolve(sender.acks.length >= at), {
        timeoutMs: 120_000,
        what: `${at} events acknowledged`,
      });
      inFlightAtKill += sender.open + (await unprocessed(db.pool));
      await killHard(service);
      service = await start();
    }
    await sender.done;
    const counts = await checkLedger(db.pool, stream, sender);
    reportFigures('service SIGKILL', {
      kills: KILLS,
      in_flight_at_kill: inFlightAtKill,
      ...counts,
      statuses: sender.statuses,
    });
    expect(sender.unexpected).toEqual([]);
    expect(counts).toMatchObject({ ...NOTHING_LOST, acknowledged: stream.total });
    expect(sender.statuses[0] ?? 0).toBeGreaterThan(0); // the kill really cut requests off
  });
});

describe('the worker SIGKILLed mid-activity, the API running on', () => {
  let db: TestDatabase;
  let api: ServiceChild | undefined;
  let worker: ServiceChild | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await stopHelperProcess(worker);
    await stopHelperProcess(api);
    await db?.drop();
  });

  it('when the worker dies inside applyPendingEvents during a burst, then the killed attempt is retried within its start-to-close timeout and nothing acknowledged is lost or applied twice', async () => {
    const port = await findFreePort();
    const queue = taskQueue();
    const startWorker = () =>
      startServiceProcess({ databaseUrl: db.databaseUrl, taskQueue: queue, role: 'worker' });
    api = await startServiceProcess({
      databaseUrl: db.databaseUrl,
      taskQueue: queue,
      role: 'api',
      port,
    });
    worker = await startWorker();
    const stream = renewalBurst({ label: 'wkill', accounts: ACCOUNTS, hotEvents: HOT_EVENTS });
    const sender = sendStream(() => `http://127.0.0.1:${port}`, stream, { concurrency: 8 });
    const retries: number[] = [];
    const held: Ack[] = [];
    let inFlightAtKill = 0;
    for (let k = 1; k <= KILLS; k++) {
      const at = Math.floor((stream.total * k) / (KILLS + 2));
      await waitFor(() => Promise.resolve(sender.acks.length >= at), {
        timeoutMs: 120_000,
        what: `${at} events acknowledged`,
      });
      // An account of its own is caught mid-transaction: its row is locked elsewhere, so the
      // applyPendingEvents of its next event waits inside its transaction when the worker dies.
      const heldAccount = await registeredAccount(port, db.pool, `wkill_held${k}`);
      held.push(heldAccount.first);
      const locker = new pg.Client({ connectionString: db.databaseUrl });
      locker.on('error', () => undefined);
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM billing_accounts WHERE account_id = $1 FOR UPDATE', [
        heldAccount.accountId,
      ]);
      const next = await heldAccount.next();
      held.push(next);
      await waitFor(() => applyWaitingOnLock(db.pool), {
        timeoutMs: 60_000,
        what: 'applyPendingEvents waiting inside its transaction',
      });
      inFlightAtKill += sender.open + (await unprocessed(db.pool));
      await killHard(worker);
      const killedAt = Date.now();
      await locker.end();
      worker = await startWorker();
      await waitFor(async () => (await outcomeOf(db.pool, next.eventId)) !== null, {
        timeoutMs: BILLING_DB_START_TO_CLOSE_MS + 60_000,
        intervalMs: 100,
        what: `the killed attempt's event ${next.eventId} applied by the new worker`,
      });
      retries.push(Date.now() - killedAt);
    }
    await sender.done;
    const counts = await checkLedger(
      db.pool,
      { total: stream.total + held.length },
      { acks: [...sender.acks, ...held] },
    );
    reportFigures('worker SIGKILL mid-activity', {
      kills: KILLS,
      in_flight_at_kill: inFlightAtKill,
      ms_from_kill_to_applied: retries,
      start_to_close_ms: BILLING_DB_START_TO_CLOSE_MS,
      ...counts,
      statuses: sender.statuses,
    });
    expect(sender.unexpected).toEqual([]);
    expect(counts).toMatchObject({ ...NOTHING_LOST, acknowledged: stream.total + held.length });
  });
});

/** An account with one applied event, and a way to post its next one (both acknowledged). */
async function registeredAccount(port: number, pool: pg.Pool, label: string) {
  const base = `http://127.0.0.1:${port}`;
  const parts = {
    accountId: faultAccountId(label),
    customerId: fx.stripeId('cus'),
    subscriptionId: fx.stripeId('sub'),
  };
  const t = nowS() - 60;
  const post = async (event: fx.StripeEventJson, lane: number, index: number): Promise<Ack> => {
    const answer = await postStripe(base, event);
    expect(answer.status).toBe(200);
    return { stripeId: event.id, eventId: String(answer.body.event_id), lane, index, posts: 1 };
  };
  const lane = 100_000 + Math.floor(Math.random() * 100_000);
  const first = await post(fx.subscriptionCreated({ ...parts, created: t }), lane, 0);
  await waitFor(async () => (await outcomeOf(pool, first.eventId)) !== null, {
    timeoutMs: 60_000,
    what: `${parts.accountId} registered`,
  });
  return {
    accountId: parts.accountId,
    first,
    next: () => post(fx.invoicePaymentFailed({ ...parts, created: t + 10 }), lane, 1),
  };
}

async function applyWaitingOnLock(pool: pg.Pool): Promise<boolean> {
  const r = await pool.query(
    `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%billing_accounts%'`,
  );
  return (r.rowCount ?? 0) > 0;
}

async function outcomeOf(pool: pg.Pool, id: string): Promise<string | null> {
  const r = await pool.query<{ outcome: string | null }>(
    'SELECT outcome FROM billing_events WHERE id = $1::bigint',
    [id],
  );
  return r.rows[0]?.outcome ?? null;
}

/** Events stored but not yet processed: in flight between the HTTP answer and the workflow. */
async function unprocessed(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM billing_events WHERE outcome IS NULL',
  );
  return r.rows[0]?.n ?? 0;
}
