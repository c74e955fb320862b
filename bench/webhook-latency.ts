// How close is the webhook path to a plain database write? Measures, in one run on one machine:
//   baseline   INSERT of the same payload into a bare jsonb table (one round trip, no checks)
//   plain      an express route that INSERTs the raw body: the hand-written webhook table
//   stored     POST /webhooks/stripe with DELIVERY_WAIT_MS=0 (verify, store, answer; the signal
//              goes out after the answer)
//   delivered  POST /webhooks/stripe with the default bounded wait (answer after the workflow
//              has the signal)
// and prints medians / p95 as ratios to the baseline. Timings on a shared 2-core box are noisy:
// compare the ratios, not the milliseconds.   Usage: npm run bench [-- --n 300]
import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import express from 'express';
import pg from 'pg';
import pino from 'pino';

import { loadConfig } from '../src/config';
import { startEmbeddedPostgres, startTemporalDevServer } from '../src/dev/local-stack';
import { runServices } from '../src/runtime';
import { invoicePaid, stripeId, toBody } from '../test/fixtures/stripe';
import { signStripePayload } from '../test/helpers/stripe-signing';

const SECRET = 'whsec_bench_secret';
const ADMIN = 'bench-admin-token';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function stats(samples: number[]): { p50: number; p95: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p95: at(0.95) };
}

async function time(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  for (let i = 0; i < Math.min(50, n); i++) await fn(-1 - i); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

function body(i: number, run: string): string {
  return toBody(
    invoicePaid({
      eventId: `evt_${run}_${i}`,
      customerId: `cus_bench_${i % 50}`,
      created: Math.floor(Date.now() / 1000),
    }),
  );
}

async function postAll(baseUrl: string, n: number, run: string): Promise<number[]> {
  return time(n, async (i) => {
    const b = body(i, run);
    const res = await fetch(`${baseUrl}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': signStripePayload(b, SECRET),
      },
      body: b,
    });
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  });
}

/** The hand-written status-column approach: an express route that stores the raw body, nothing else. */
async function plainWebhook(pool: pg.Pool, n: number): Promise<number[]> {
  const app = express();
  app.post('/hook', express.raw({ type: () => true }), async (req, res) => {
    await pool.query('INSERT INTO bench_plain (dedupe_key, payload) VALUES ($1, $2::jsonb)', [
      stripeId('p', 12),
      (req.body as Buffer).toString('utf8'),
    ]);
    res.json({ received: true });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, () => resolve(s));
  });
  const address = server.address();
  const url = `http://localhost:${typeof address === 'object' && address ? address.port : 0}/hook`;
  try {
    return await time(n, async (i) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(i, 'plain'),
      });
      await res.text();
    });
  } finally {
    server.close();
  }
}

async function main(): Promise<void> {
  const n = arg('n', 300);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-bench-'));
  fs.chmodSync(dir, 0o755);
  const pgServer = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    persistent: false,
  });
  const temporal = await startTemporalDevServer({ namespace: 'default', headless: true });
  const rows: string[] = [];
  try {
    const pool = new pg.Pool({ connectionString: pgServer.databaseUrl, max: 4 });
    await pool.query(
      'CREATE TABLE bench_plain (id bigserial PRIMARY KEY, dedupe_key text UNIQUE, payload jsonb)',
    );
    const baseline = await time(n, async (i) => {
      await pool.query('INSERT INTO bench_plain (dedupe_key, payload) VALUES ($1, $2::jsonb)', [
        `b${i}_${stripeId('x', 6)}`,
        body(i, 'base'),
      ]);
    });
    const plainHttp = await plainWebhook(pool, n);
    await pool.end();
    const results: Record<string, number[]> = {
      baseline,
      'plain webhook (express + one INSERT)': plainHttp,
    };
    const modes = [
      ['stored (DELIVERY_WAIT_MS=0)', '0', 'all'],
      ['delivered (DELIVERY_WAIT_MS=1500)', '1500', 'all'],
      ['stored, API only (DELIVERY_WAIT_MS=0; no worker here)', '0', 'api'],
    ] as const;
    for (const [label, wait, role] of modes) {
      const config = loadConfig({
        DATABASE_URL: pgServer.databaseUrl,
        TEMPORAL_ADDRESS: temporal.address,
        STRIPE_WEBHOOK_SECRET: SECRET,
        ADMIN_TOKEN: ADMIN,
        PORT: '0',
        DELIVERY_WAIT_MS: wait,
        TEMPORAL_TASK_QUEUE: `bench-${wait}-${role}`,
        LOG_LEVEL: 'silent',
      });
      const running = await runServices(config, 'all', pino({ level: 'silent' }), {
        schedules: false,
      });
      try {
        results[label] = await postAll(running.info.apiUrl ?? '', n, `w${wait}${role}`);
      } finally {
        await running.stop();
      }
    }
    const base = stats(plainHttp);
    rows.push(
      `| path | p50 ms | p95 ms | p50 ÷ plain webhook | p95 ÷ plain webhook |`,
      `|---|---|---|---|---|`,
    );
    for (const [label, samples] of Object.entries(results)) {
      const s = stats(samples);
      rows.push(
        `| ${label} | ${s.p50.toFixed(2)} | ${s.p95.toFixed(2)} | ${(s.p50 / base.p50).toFixed(1)}× | ${(s.p95 / base.p95).toFixed(1)}× |`,
      );
    }
    process.stdout.write(
      `${n} sequential requests each, ${os.cpus().length} cores, Node ${process.version}\n\n${rows.join('\n')}\n`,
    );
  } finally {
    await temporal.stop();
    await pgServer.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
