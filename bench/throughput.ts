// Throughput of the webhook pipeline against the classic design, side by side in one run on the
// same PostgreSQL: verify, then one transaction writing event, account and audit row. Every
// figure is also written as a ratio to its baseline measured in the same run, because absolute
// numbers on a shared machine are noisy. Bounded: every scenario sends a fixed number of requests
// and stops. Results go to bench/results/<timestamp>.json; `npm run bench:tables` writes
// BENCHMARKS.md's tables from them.
//   npm run bench             full mode (3 runs, larger counts)
//   npm run bench -- --quick  a few minutes (3 runs, small counts)
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import type { Server } from 'node:http';
import express from 'express';
import pg from 'pg';
import pino from 'pino';
import Stripe from 'stripe';
import { loadConfig } from '../src/config';
import { runMigrations } from '../src/db/migrate';
import { runServices, type Role, type Running } from '../src/runtime';
import { startEmbeddedPostgres, startTemporalDevServer } from '../src/dev/local-stack';
import { signStripePayload } from '../test/helpers/stripe-signing';
import { invoicePaymentFailed, toBody } from '../test/fixtures/stripe';

const SECRET = 'whsec_bench_secret';
const ADMIN = 'bench-admin-token';
const quick = process.argv.includes('--quick');
const SIZES = quick
  ? { ack: 600, e2e: 1500, backlog: 2000, gate: 2000, runs: 3 }
  : { ack: 4000, e2e: 10_000, backlog: 5000, gate: 20_000, runs: 3 };

interface Load {
  requests: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Sends `n` requests with `concurrency` senders; each request must answer 200. */
async function load(n: number, concurrency: number, send: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        const s = performance.now();
        await send(i);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: n,
    seconds,
    perSecond: n / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  } satisfies Load;
}

let seq = 0;
function signedFailure(accountId: string): { body: string; signature: string } {
  seq += 1;
  const body = toBody(
    invoicePaymentFailed({
      eventId: `evt_bench_${process.pid}_${seq}`,
      accountId,
      customerId: `cus_${accountId}`,
      subscriptionId: `sub_${accountId}`,
      created: 1_767_225_600 + seq,
    }),
  );
  return { body, signature: signStripePayload(body, SECRET) };
}

async function post(url: string, accountId: string): Promise<void> {
  const { body, signature } = signedFailure(accountId);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body,
  });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
}

async function listen(app: express.Express): Promise<{ url: string; server: Server }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, server };
}

/** The classic design: verify, then one transaction with the event, the account and an audit row. */
async function classicService(pool: pg.Pool) {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS classic_events (id bigserial PRIMARY KEY, dedupe_key text UNIQUE, account_id text, payload jsonb, received_at timestamptz DEFAULT now());
    CREATE TABLE IF NOT EXISTS classic_accounts (account_id text PRIMARY KEY, status text, last_event_id bigint, updated_at timestamptz);
    CREATE TABLE IF NOT EXISTS classic_audit (id bigserial PRIMARY KEY, account_id text, event_id bigint, to_status text, created_at timestamptz DEFAULT now());`);
  const app = express();
  app.post('/webhooks/stripe', express.raw({ type: () => true }), async (req, res) => {
    const event = Stripe.webhooks.constructEvent(
      req.body as Buffer,
      req.get('stripe-signature') ?? '',
      SECRET,
    ) as unknown as { id: string; data: { object: { subscription_details?: unknown } } };
    const payload = (req.body as Buffer).toString('utf8');
    const accountId =
      (
        JSON.parse(payload) as {
          data: {
            object: {
              metadata?: { account_id?: string };
              parent?: { subscription_details?: { metadata?: { account_id?: string } } };
            };
          };
        }
      ).data.object.parent?.subscription_details?.metadata?.account_id ?? 'unknown';
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const e = await client.query<{ id: string }>(
        'INSERT INTO classic_events (dedupe_key, account_id, payload) VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING RETURNING id',
        [event.id, accountId, payload],
      );
      const id = e.rows[0]?.id;
      if (id) {
        await client.query(
          `INSERT INTO classic_accounts VALUES ($1, 'past_due', $2, now())
           ON CONFLICT (account_id) DO UPDATE SET status = 'past_due', last_event_id = $2, updated_at = now()`,
          [accountId, id],
        );
        await client.query(
          `INSERT INTO classic_audit (account_id, event_id, to_status) VALUES ($1, $2, 'past_due')`,
          [accountId, id],
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
    res.json({ received: true });
  });
  app.get('/gate/:id', async (req, res) => {
    const r = await pool.query('SELECT status FROM classic_accounts WHERE account_id = $1', [
      req.params.id,
    ]);
    res.json({ status: (r.rows[0] as { status?: string } | undefined)?.status ?? null });
  });
  return listen(app);
}

async function pendingCount(pool: pg.Pool, prefix: string): Promise<number> {
  const r = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM billing_events WHERE outcome IS NULL AND account_id LIKE $1`,
    [`${prefix}%`],
  );
  return r.rows[0]?.n ?? 0;
}

/** Polls until every event of the prefix is applied (deadline: 20 minutes). */
async function drained(pool: pg.Pool, prefix: string): Promise<void> {
  const deadline = Date.now() + 20 * 60_000;
  while ((await pendingCount(pool, prefix)) > 0) {
    if (Date.now() > deadline) throw new Error(`events of ${prefix} not applied in 20 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Figures = Record<
  string,
  { value: number; baseline: number; unit: string; extra?: Record<string, number> }
>;

async function startService(
  databaseUrl: string,
  temporalAddress: string,
  role: Role,
  queue: string,
) {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    STRIPE_WEBHOOK_SECRET: SECRET,
    ADMIN_TOKEN: ADMIN,
    PORT: '0',
    TEMPORAL_TASK_QUEUE: queue,
    LOG_LEVEL: 'silent',
  });
  return runServices(config, role, pino({ level: 'silent' }), { schedules: false });
}

async function oneRun(run: number, databaseUrl: string, temporalAddress: string): Promise<Figures> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  const classic = await classicService(pool);
  const figures: Figures = {};
  const tag = `r${run}_${process.pid}`;
  let all: Running | null = null;
  let api: Running | null = null;
  try {
    all = await startService(databaseUrl, temporalAddress, 'all', `bench-${tag}`);
    const url = `${all.info.apiUrl}/webhooks/stripe`;
    // 1. Acknowledgements at concurrency 1, 16, 64 (1,000 accounts).
    for (const c of [1, 16, 64]) {
      const base = await load(SIZES.ack, c, (i) =>
        post(`${classic.url}/webhooks/stripe`, `c${tag}_${c}_${i % 1000}`),
      );
      const ours = await load(SIZES.ack, c, (i) => post(url, `a${tag}_${c}_${i % 1000}`));
      figures[`ack_c${c}`] = {
        value: ours.perSecond,
        baseline: base.perSecond,
        unit: 'acks/s',
        extra: {
          p50_ms: ours.p50,
          p99_ms: ours.p99,
          baseline_p50_ms: base.p50,
          baseline_p99_ms: base.p99,
        },
      };
      await drained(pool, `a${tag}_${c}_`);
    }
    // 2. Sustained end-to-end: from the first request until every acknowledged event is applied.
    for (const [name, accounts] of [
      ['e2e_50_busy', 50],
      ['e2e_1000_distinct', 1000],
    ] as const) {
      const prefix = `e${tag}_${accounts}_`;
      const base = await load(SIZES.e2e, 16, (i) =>
        post(`${classic.url}/webhooks/stripe`, `${prefix}c${i % accounts}`),
      );
      const t0 = performance.now();
      await load(SIZES.e2e, 16, (i) => post(url, `${prefix}${i % accounts}`));
      await drained(pool, prefix);
      const perSecond = SIZES.e2e / ((performance.now() - t0) / 1000);
      figures[name] = { value: perSecond, baseline: base.perSecond, unit: 'events/s applied' };
    }
    // 3. The gate at concurrency 16 against a bare primary-key SELECT behind the same HTTP stack.
    const gateBase = await load(SIZES.gate, 16, (i) =>
      fetch(`${classic.url}/gate/e${tag}_50_c${i % 50}`)
        .then((r) => r.arrayBuffer())
        .then(() => undefined),
    );
    const gate = await load(SIZES.gate, 16, (i) =>
      fetch(`${all?.info.apiUrl}/v1/gate/e${tag}_50_${i % 50}/confirm`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      })
        .then((r) => r.arrayBuffer())
        .then(() => undefined),
    );
    figures.gate_c16 = {
      value: gate.perSecond,
      baseline: gateBase.perSecond,
      unit: 'answers/s',
      extra: { p50_ms: gate.p50, p99_ms: gate.p99, baseline_p99_ms: gateBase.p99 },
    };
    await all.stop();
    all = null;
    // 4. API alone (no worker on the box) at concurrency 16, then the backlog it leaves drains.
    api = await startService(databaseUrl, temporalAddress, 'api', `bench-${tag}-split`);
    const apiUrl = `${api.info.apiUrl}/webhooks/stripe`;
    const base16 = figures.ack_c16?.baseline ?? NaN;
    const prefix = `b${tag}_`;
    const apiOnly = await load(SIZES.backlog, 16, (i) => post(apiUrl, `${prefix}${i % 1000}`));
    figures.ack_c16_api_only = {
      value: apiOnly.perSecond,
      baseline: base16,
      unit: 'acks/s',
      extra: { p50_ms: apiOnly.p50, p99_ms: apiOnly.p99 },
    };
    await api.stop();
    api = null;
    const t0 = performance.now();
    all = await startService(databaseUrl, temporalAddress, 'all', `bench-${tag}-split`);
    await drained(pool, prefix);
    const seconds = (performance.now() - t0) / 1000;
    figures.backlog_drain = {
      value: SIZES.backlog / seconds,
      baseline: base16,
      unit: 'events/s drained',
      extra: { seconds, events: SIZES.backlog },
    };
  } finally {
    await all?.stop();
    await api?.stop();
    classic.server.close();
    await pool.end();
  }
  return figures;
}

function loadAverage(): number[] {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}

async function main(): Promise<void> {
  const started = new Date();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-bench-'));
  fs.chmodSync(dir, 0o755);
  const pgServer = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    persistent: false,
  });
  const temporal = await startTemporalDevServer({ namespace: 'default', headless: true });
  const runs: Figures[] = [];
  const loadBefore = loadAverage();
  try {
    await runMigrations(pgServer.databaseUrl, () => undefined);
    for (let r = 1; r <= SIZES.runs; r++) {
      process.stderr.write(`run ${r}/${SIZES.runs}…\n`);
      runs.push(await oneRun(r, pgServer.databaseUrl, temporal.address));
    }
  } finally {
    await temporal.stop();
    await pgServer.stop();
  }
  const result = {
    mode: quick ? 'quick' : 'full',
    started_at: started.toISOString(),
    minutes: (Date.now() - started.getTime()) / 60_000,
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? '',
      node: process.version,
      load_before: loadBefore,
      load_after: loadAverage(),
    },
    sizes: SIZES,
    runs,
  };
  const out = path.join(
    __dirname,
    'results',
    `${started.toISOString().replace(/[:.]/g, '-')}-${result.mode}.json`,
  );
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
  process.stdout.write(`${out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
