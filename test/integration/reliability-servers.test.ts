// Issue "reliability under load": a renewal burst of signed webhooks over loopback while the
// Temporal server is SIGKILLed and restarted, or PostgreSQL is SIGKILLed and restarted. After
// recovery every acknowledged event has exactly one outcome and one audit row, each account's
// events were processed in the order they were acknowledged, and billing_accounts equals a
// rebuild from billing_events. While PostgreSQL is down the answers are 503 + Retry-After, and
// every 200 names a committed event. Short form in CI; RELIABILITY_LONG=1 for the long one.
// Temporal is of the kind the suite runs on; the self-hosted server persists to the PostgreSQL
// that is killed, as in docker-compose.yml, so that kill takes Temporal's storage down too.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import pg from 'pg';

import { guardPoolErrors } from '../../src/db/pool';
import { findFreePort, makeThrowawayDir } from '../../src/dev/local-stack';
import {
  type ChildHandle,
  killHard,
  type ServiceChild,
  startHelperProcess,
  startServiceProcess,
  stopHelperProcess,
} from '../helpers/child-process';
import {
  checkLedger,
  LONG,
  NOTHING_LOST,
  renewalBurst,
  reportFigures,
  sendStream,
} from '../helpers/load';
import { killPostgresHard } from '../helpers/postgres-kill';
import { startService, type TestService } from '../helpers/service';
import { type PrivateTemporal, startPrivateTemporal } from '../helpers/temporal';
import { temporalUnderTest } from '../helpers/temporal-kind';
import { waitFor } from '../helpers/wait';

const ACCOUNTS = LONG ? 400 : 60;
const HOT_EVENTS = LONG ? 300 : 60;
/** How long the server stays down: long enough for requests and signals to fail meanwhile. */
const DOWN_MS = 3000;

async function unprocessed(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM billing_events WHERE outcome IS NULL',
  );
  return r.rows[0]?.n ?? 0;
}

describe('the Temporal server killed and restarted mid-stream', () => {
  let temporal: PrivateTemporal | undefined;
  let svc: TestService | undefined;

  beforeAll(async () => {
    temporal = await startPrivateTemporal();
    svc = await startService({ env: { TEMPORAL_ADDRESS: temporal.address } });
  });
  afterAll(async () => {
    await svc?.stop();
    await temporal?.stop();
  });

  it('when Temporal is SIGKILLed during a burst and started again on its storage, then nothing acknowledged is lost or applied twice', async () => {
    const service = svc as TestService;
    const server = temporal as PrivateTemporal;
    const stream = renewalBurst({ label: 'tkill', accounts: ACCOUNTS, hotEvents: HOT_EVENTS });
    const sender = sendStream(() => service.baseUrl, stream, { concurrency: 8 });
    await waitFor(() => Promise.resolve(sender.acks.length >= stream.total / 3), {
      timeoutMs: 120_000,
      what: 'a third of the burst acknowledged',
    });
    await server.kill();
    const ackedAtKill = sender.acks.length;
    await new Promise((r) => setTimeout(r, DOWN_MS));
    const acknowledgedWhileDown = sender.acks.length - ackedAtKill;
    const inFlightAtKill = sender.open + (await unprocessed(service.db.pool));
    await server.restart();
    await sender.done;
    const counts = await checkLedger(service.db.pool, stream, sender, { timeoutMs: 180_000 });
    reportFigures(`Temporal (${temporalUnderTest()}) SIGKILL`, {
      in_flight_at_kill: inFlightAtKill,
      acknowledged_while_down: acknowledgedWhileDown,
      ...counts,
      statuses: sender.statuses,
    });
    expect(sender.unexpected).toEqual([]);
    expect(counts).toMatchObject({ ...NOTHING_LOST, acknowledged: stream.total });
    // Webhooks are answered after the commit while Temporal is away.
    expect(acknowledgedWhileDown).toBeGreaterThan(0);
  });
});

type PostgresChild = ChildHandle<{ databaseUrl: string; port: number }>;

describe('PostgreSQL killed and restarted mid-stream', () => {
  const dataDir = path.join(makeThrowawayDir('billing-rel-pg-'), 'postgres');
  let postgres: PostgresChild | undefined;
  let temporal: PrivateTemporal | undefined;
  let service: ServiceChild | undefined;
  let pool: pg.Pool;

  afterAll(async () => {
    await stopHelperProcess(service);
    await pool?.end().catch(() => undefined);
    await temporal?.stop();
    await stopHelperProcess(postgres);
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  it('when PostgreSQL is SIGKILLed during a burst and restarted, then the answers meanwhile are 503 + Retry-After, every 200 is committed, and nothing is lost or applied twice', async () => {
    postgres = await startHelperProcess('postgres-process.ts', [dataDir, '0', '--migrate']);
    const { databaseUrl, port: pgPort } = postgres.ready;
    pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
    guardPoolErrors(pool);
    // The dev server keeps its SQLite file; the self-hosted server shares this PostgreSQL.
    if (temporalUnderTest() === 'server') {
      temporal = await startPrivateTemporal({ postgresUrl: databaseUrl });
    }
    const port = await findFreePort();
    service = await startServiceProcess({
      databaseUrl,
      taskQueue: `billing-test-${randomBytes(4).toString('hex')}`,
      port,
      temporalAddress: temporal?.address,
    });
    const stream = renewalBurst({ label: 'pgkill', accounts: ACCOUNTS, hotEvents: HOT_EVENTS });
    const sender = sendStream(() => `http://127.0.0.1:${port}`, stream, { concurrency: 8 });
    await waitFor(() => Promise.resolve(sender.acks.length >= stream.total / 3), {
      timeoutMs: 120_000,
      what: 'a third of the burst acknowledged',
    });
    const inFlightAtKill = sender.open + (await unprocessed(pool));
    await killPostgresHard(dataDir);
    await killHard(postgres); // its helper process goes with the server it started
    await waitFor(() => Promise.resolve((sender.statuses[503] ?? 0) > 0), {
      what: '503 answers while PostgreSQL is down',
    });
    postgres = await startHelperProcess('postgres-process.ts', [dataDir, String(pgPort)]);
    await sender.done;
    const counts = await checkLedger(pool, stream, sender, { timeoutMs: 180_000 });
    reportFigures(`PostgreSQL SIGKILL (Temporal: ${temporalUnderTest()})`, {
      in_flight_at_kill: inFlightAtKill,
      ...counts,
      statuses: sender.statuses,
    });
    expect(service.exited).toBeNull();
    // The self-hosted server lost its storage and reconnected by itself (docs/deploy.md).
    if (temporal) expect(() => process.kill((temporal as PrivateTemporal).pid, 0)).not.toThrow();
    expect(sender.unexpected).toEqual([]);
    expect(sender.unavailableWithoutRetryAfter).toBe(0);
    expect(counts).toMatchObject({ ...NOTHING_LOST, acknowledged: stream.total });
  });
});
