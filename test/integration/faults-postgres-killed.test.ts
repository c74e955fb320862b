// SPEC §9 "faults": PostgreSQL killed hard (SIGKILL of the postmaster and its backends) while
// signed webhooks are in flight and an activity's transaction is open. The service runs in a
// process of its own, as in production, so a crash is visible as that process exiting. It must
// stay up, answer 503 + Retry-After while the database is gone, and 200 again once it is back;
// every 200 must be a stored event. Real PostgreSQL, real Temporal dev server, real HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { makeThrowawayDir } from '../../src/dev/local-stack';
import * as fx from '../fixtures/stripe';
import { postStripe, type Answer } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import { SECRETS } from '../helpers/service';
import { waitFor } from '../helpers/wait';
import { guardPoolErrors } from '../../src/db/pool';

const ROUNDS = 5;

const REPO_ROOT = path.resolve(__dirname, '..', '..');

interface ChildHandle<T> {
  child: ChildProcess;
  ready: T;
  exited: { code: number | null; signal: NodeJS.Signals | null } | null;
  stderr: string[];
}

/** Runs a test/helpers script under tsx and waits for the one JSON line it prints when ready. */
function startHelperProcess<T>(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ChildHandle<T>> {
  const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(
    process.execPath,
    ['--import', tsxLoader, path.join(REPO_ROOT, 'test', 'helpers', script), ...args],
    { cwd: REPO_ROOT, env: { ...process.env, ...env } },
  );
  const handle = { child, exited: null, stderr: [] } as unknown as ChildHandle<T>;
  child.stderr?.on('data', (chunk: Buffer) => {
    handle.stderr.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    handle.stderr.splice(0, Math.max(0, handle.stderr.length - 60));
  });
  child.once('exit', (code, signal) => (handle.exited = { code, signal }));
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      child.stdout?.off('data', onData);
      handle.ready = JSON.parse(buffered.slice(0, newline)) as T;
      resolve(handle);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(
        new Error(`${script} exited (code ${code}) while starting:\n${handle.stderr.join('\n')}`),
      ),
    );
  });
}

async function stopHelperProcess(handle: ChildHandle<unknown> | undefined): Promise<void> {
  if (!handle || handle.exited) return;
  const exited = new Promise((resolve) => handle.child.once('exit', resolve));
  handle.child.kill('SIGTERM');
  await exited;
}

type ServiceChild = ChildHandle<{ apiUrl: string }>;
type PostgresChild = ChildHandle<{ databaseUrl: string; port: number }>;

function expectAlive(service: ChildHandle<unknown>): void {
  if (service.exited)
    throw new Error(
      `The service process died (${JSON.stringify(service.exited)}):\n${service.stderr.join('\n')}`,
    );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The postmaster (from its pid file) and every process it started, as the kernel sees them. */
function postgresProcesses(dataDir: string): number[] {
  const postmaster = Number.parseInt(
    fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '',
    10,
  );
  const children = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

async function killPostgresHard(dataDir: string): Promise<void> {
  const pids = postgresProcesses(dataDir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor(() => Promise.resolve(pids.every((pid) => !isAlive(pid))), {
    timeoutMs: 10_000,
    what: 'PostgreSQL processes gone',
  });
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
      LOG_LEVEL: 'warn',
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
        { what: `account ${parts.accountId} registered` },
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
        { what: 'applyTransition waiting on the locked account row' },
      );

      const inFlight: Posted[] = [];
      const traffic = flood(baseUrl, 4, inFlight);
      await waitFor(() => Promise.resolve(inFlight.length >= 8), { what: 'webhooks flowing' });
      await killPostgresHard(dataDir);
      const killedAt = inFlight.length;
      await waitFor(
        () => {
          expectAlive(svc);
          return Promise.resolve(inFlight.slice(killedAt).some((p) => p.answer.status === 503));
        },
        { what: '503 answers while PostgreSQL is down', intervalMs: 5 },
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
