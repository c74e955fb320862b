// Issue "reliability under load": a renewal burst of signed webhooks over loopback while a
// process is SIGKILLed — the whole service (API + worker in one process), or the worker alone
// with the API running in a process of its own. After recovery every acknowledged event has
// exactly one outcome and one audit row, each account's events were processed in the order they
// were acknowledged, and billing_accounts equals a rebuild from billing_events.
// Short form in CI; RELIABILITY_LONG=1 sends more events and kills more often.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { findFreePort } from '../../src/dev/local-stack';
import {
  killHard,
  startServiceProcess,
  stopHelperProcess,
  type ServiceChild,
} from '../helpers/child-process';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import {
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

/** Events stored but not yet processed: in flight between the HTTP answer and the workflow. */
async function unprocessed(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM billing_events WHERE outcome IS NULL',
  );
  return r.rows[0]?.n ?? 0;
}
