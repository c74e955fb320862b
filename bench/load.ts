// Shared pieces of `npm run bench`: the bounded load generator, signed webhooks, the classic
// design the service is measured against, and polling until events are applied.
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';

import express from 'express';
import type pg from 'pg';
import Stripe from 'stripe';

import { invoicePaymentFailed, type StripeEventJson, toBody } from '../test/fixtures/stripe';
import { signStripePayload } from '../test/helpers/stripe-signing';

export const SECRET = 'whsec_bench_secret';
export const ADMIN = 'bench-admin-token';
/** The service's GATE_TOKENS in the bench: what a host app holds. */
export const GATE = 'bench-gate-token';

export interface Load {
  requests: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Sends `n` requests with `concurrency` senders; each request must answer 200. */
export async function load(n: number, concurrency: number, send: (i: number) => Promise<void>) {
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
/** Ids and a fresh `created` for one signed event of `accountId`. */
export function eventIds(accountId: string) {
  seq += 1;
  return {
    eventId: `evt_bench_${process.pid}_${seq}`,
    accountId,
    customerId: `cus_${accountId}`,
    subscriptionId: `sub_${accountId}`,
    created: 1_767_225_600 + seq,
  };
}

/**
 * Posts one signed Stripe event (default: `invoice.payment_failed`); it must answer 200. Returns
 * the stored event's id (billing_events.id) the answer names.
 */
export async function post(
  url: string,
  accountId: string,
  make: (ids: ReturnType<typeof eventIds>) => StripeEventJson = invoicePaymentFailed,
): Promise<string> {
  const body = toBody(make(eventIds(accountId)));
  const signature = signStripePayload(body, SECRET);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body,
  });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  const answer = (await res.json()) as { event_id?: string };
  return answer.event_id ?? '';
}

export async function listen(app: express.Express): Promise<{ url: string; server: Server }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, server };
}

/** The classic design: verify, then one transaction with the event, the account and an audit row. */
export async function classicService(pool: pg.Pool) {
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
  // The HTTP floor on this box: an answer from memory behind the same express, no database.
  app.get('/floor/:id', (_req, res) => {
    res.json({ status: 'active' });
  });
  app.get('/gate/:id', async (req, res) => {
    const r = await pool.query('SELECT status FROM classic_accounts WHERE account_id = $1', [
      req.params.id,
    ]);
    res.json({ status: (r.rows[0] as { status?: string } | undefined)?.status ?? null });
  });
  return listen(app);
}

export async function pendingCount(pool: pg.Pool, prefix: string): Promise<number> {
  const r = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM billing_events WHERE outcome IS NULL AND account_id LIKE $1`,
    [`${prefix}%`],
  );
  return r.rows[0]?.n ?? 0;
}

/** Polls until every event of the prefix is applied (deadline: 20 minutes). */
export async function drained(pool: pg.Pool, prefix: string): Promise<void> {
  const deadline = Date.now() + 20 * 60_000;
  while ((await pendingCount(pool, prefix)) > 0) {
    if (Date.now() > deadline) throw new Error(`events of ${prefix} not applied in 20 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
