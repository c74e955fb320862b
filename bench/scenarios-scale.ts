// The scale scenarios of `npm run bench`: many registered accounts, a renewal-day burst, load at
// a fixed fraction of the classic design's rate, and rebuild-projection over generated events.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { runMigrations } from '../src/db/migrate';
import { rebuildProjection } from '../src/ops/rebuild';
import {
  invoicePaid,
  invoicePaymentSucceeded,
  subscriptionUpdated,
  type StripeEventJson,
} from '../test/fixtures/stripe';
import { ADMIN, drained, load, pendingCount, post, type eventIds } from './load';
import { generateProcessedEvents } from './rebuild-data';

export interface Figure {
  value: number;
  baseline: number;
  unit: string;
  extra?: Record<string, number>;
}

const MB = 1024 * 1024;

/** Resident memory of a process, from /proc (0 where there is none). */
export function rssMb(pid: number): number {
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/** The dev server's SQLite file with its WAL: Temporal's size on disk. */
export function sqliteMb(file: string): number {
  const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
  return Math.round(((size(file) + size(`${file}-wal`)) / MB) * 10) / 10;
}

async function databaseMb(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ b: string }>(
    'SELECT pg_database_size(current_database())::text AS b',
  );
  return Math.round((Number(r.rows[0]?.b ?? 0) / MB) * 10) / 10;
}

export interface ScaleContext {
  pool: pg.Pool;
  apiUrl: string;
  tag: string;
  /** Classic acknowledgements/s at concurrency 16 in this run. */
  classic16: () => Promise<number>;
  temporalDbFile: string;
  temporalPid: () => number;
}

/** `n` accounts registered through POST /v1/accounts at concurrency 16, until all are applied. */
export async function registeredAccounts(ctx: ScaleContext, n: number): Promise<Figure> {
  const prefix = `g${ctx.tag}_`;
  const before = {
    db: await databaseMb(ctx.pool),
    temporal: sqliteMb(ctx.temporalDbFile),
    rss: process.memoryUsage().rss / MB,
  };
  const t0 = performance.now();
  await load(n, 16, async (i) => {
    const res = await fetch(`${ctx.apiUrl}/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ account_id: `${prefix}${i}`, trial_days: 14 }),
    });
    if (res.status !== 201) throw new Error(`POST /v1/accounts answered ${res.status}`);
    await res.arrayBuffer();
  });
  await drained(ctx.pool, prefix);
  const seconds = (performance.now() - t0) / 1000;
  const rss = process.memoryUsage().rss / MB;
  return {
    value: n / seconds,
    baseline: await ctx.classic16(),
    unit: 'accounts/s registered',
    extra: {
      accounts: n,
      seconds,
      db_mb_added: (await databaseMb(ctx.pool)) - before.db,
      temporal_db_mb_added: sqliteMb(ctx.temporalDbFile) - before.temporal,
      temporal_db_mb: sqliteMb(ctx.temporalDbFile),
      node_rss_mb: Math.round(rss),
      node_rss_mb_added: Math.round(rss - before.rss),
      temporal_rss_mb: rssMb(ctx.temporalPid()),
    },
  };
}

const RENEWAL: ((ids: ReturnType<typeof eventIds>) => StripeEventJson)[] = [
  (ids) => invoicePaid(ids),
  (ids) => invoicePaymentSucceeded(ids),
  (ids) => subscriptionUpdated({ ...ids, previousAttributes: { status: 'past_due' } }),
];

/**
 * A renewal day: every account's `invoice.paid`, `invoice.payment_succeeded` and
 * `customer.subscription.updated` at once (concurrency 16), against the classic design taking the
 * same burst. Worst staleness: the longest any acknowledged event waited to be applied.
 */
export async function renewalBurst(
  ctx: ScaleContext,
  classicUrl: string,
  accountOf: (i: number) => string,
  accounts: number,
): Promise<Figure> {
  const n = accounts * RENEWAL.length;
  const pick = (i: number) => RENEWAL[i % RENEWAL.length] as (typeof RENEWAL)[number];
  const account = (i: number) => accountOf(Math.floor(i / RENEWAL.length));
  const base = await load(n, 16, (i) =>
    post(`${classicUrl}/webhooks/stripe`, `c${account(i)}`, pick(i)),
  );
  const since = new Date();
  const t0 = performance.now();
  const acks = await load(n, 16, (i) => post(`${ctx.apiUrl}/webhooks/stripe`, account(i), pick(i)));
  const accountIds = Array.from({ length: accounts }, (_, a) => accountOf(a));
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const r = await ctx.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM billing_events
        WHERE outcome IS NULL AND received_at >= $1::timestamptz AND account_id = ANY($2::text[])`,
      [since.toISOString(), accountIds],
    );
    if ((r.rows[0]?.n ?? 0) === 0) break;
    if (Date.now() > deadline) throw new Error('the renewal burst was not applied in 30 minutes');
    await new Promise((res) => setTimeout(res, 200));
  }
  const seconds = (performance.now() - t0) / 1000;
  const s = await ctx.pool.query<{ worst: number; p50: number; wakeups: number }>(
    `SELECT extract(epoch FROM max(processed_at - received_at))::float8 AS worst,
            extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY processed_at - received_at))::float8 AS p50,
            count(DISTINCT (account_id, processed_at))::int AS wakeups
       FROM billing_events WHERE received_at >= $1::timestamptz AND account_id = ANY($2::text[])`,
    [since.toISOString(), accountIds],
  );
  const row = s.rows[0];
  return {
    value: n / seconds,
    baseline: base.perSecond,
    unit: 'events/s applied',
    extra: {
      events: n,
      seconds,
      acks_per_s: acks.perSecond,
      worst_staleness_s: row?.worst ?? NaN,
      p50_staleness_s: row?.p50 ?? NaN,
      events_per_wakeup: n / Math.max(1, row?.wakeups ?? 0),
      baseline_seconds: base.seconds,
    },
  };
}

/** Least-squares slope of (t, y): how fast the backlog grows, in events per second. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((s, [t]) => s + t, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [t, y]) => s + (t - mt) * (y - my), 0);
  const den = points.reduce((s, [t]) => s + (t - mt) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/**
 * Open-loop load at `fraction` of the classic design's rate over 1,000 distinct accounts for
 * `seconds`: does the backlog stop growing, and how many events does each wake-up carry?
 */
export async function fixedRate(
  ctx: ScaleContext,
  fraction: number,
  seconds: number,
): Promise<Figure> {
  const rate = fraction * (await ctx.classic16());
  const prefix = `h${ctx.tag}_${Math.round(fraction * 100)}_`;
  const n = Math.max(1, Math.round(rate * seconds));
  const since = new Date();
  const t0 = performance.now();
  const samples: [number, number][] = [];
  let sending = true;
  const sampler = (async () => {
    while (sending) {
      samples.push([(performance.now() - t0) / 1000, await pendingCount(ctx.pool, prefix)]);
      await new Promise((res) => setTimeout(res, 1000));
    }
  })();
  let inFlight = 0;
  const sends: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    // Bounded: at most 64 requests in flight; a request whose turn finds them all busy is skipped.
    if (inFlight >= 64) continue;
    inFlight += 1;
    sends.push(
      post(`${ctx.apiUrl}/webhooks/stripe`, `${prefix}${i % 1000}`).finally(
        () => void (inFlight -= 1),
      ),
    );
  }
  await Promise.all(sends);
  sending = false;
  await sampler;
  const window = (performance.now() - t0) / 1000;
  const pendingEnd = await pendingCount(ctx.pool, prefix);
  const tDrain = performance.now();
  await drained(ctx.pool, prefix);
  const drainSeconds = (performance.now() - tDrain) / 1000;
  const stats = await ctx.pool.query<{ sent: number; wakeups: number }>(
    `SELECT count(*)::int AS sent, count(DISTINCT (account_id, processed_at))::int AS wakeups
       FROM billing_events WHERE account_id LIKE $1 AND received_at >= $2::timestamptz`,
    [`${prefix}%`, since.toISOString()],
  );
  const sent = stats.rows[0]?.sent ?? 0;
  const secondHalf = samples.filter(([t]) => t >= window / 2);
  return {
    value: (sent - pendingEnd) / window,
    baseline: sent / window,
    unit: 'events/s applied while sending',
    extra: {
      offered_per_s: rate,
      sent,
      pending_end: pendingEnd,
      pending_max: Math.max(0, ...samples.map(([, y]) => y)),
      pending_growth_per_s_second_half: slope(secondHalf),
      events_per_wakeup: sent / Math.max(1, stats.rows[0]?.wakeups ?? 0),
      drain_seconds_after: drainSeconds,
    },
  };
}

/** A database of its own in the same cluster, with `events` processed events generated in SQL. */
export async function prepareRebuildDatabase(
  adminUrl: string,
  events: number,
): Promise<{ url: string; accounts: number; steps: number; generateSeconds: number }> {
  const name = `bench_rebuild_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = adminUrl.replace(/\/[^/]*$/, `/${name}`);
  await runMigrations(url, () => undefined);
  // About 20 events per account: a year and a half of monthly renewals.
  const steps = 20;
  const accounts = Math.max(1, Math.round(events / steps));
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const t0 = performance.now();
    await generateProcessedEvents(pool, { accounts, steps });
    const generateSeconds = (performance.now() - t0) / 1000;
    // The projection the workflows would have written: the rebuild then compares every row.
    const setup = await rebuildProjection(pool, { apply: true, pageSize: 5000 });
    if (!setup.ok || setup.outcome_mismatches.length > 0) {
      throw new Error(
        `generated events do not fold cleanly (${setup.outcome_mismatches.length} outcome mismatches)`,
      );
    }
    return { url, accounts, steps, generateSeconds };
  } finally {
    await pool.end();
  }
}

/**
 * rebuild-projection (compare only) over the generated events, against a bare keyset scan reading
 * the same rows in the same order with no fold: what PostgreSQL and the driver alone take.
 */
export async function rebuildScenario(url: string): Promise<Figure> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const t0 = performance.now();
    let rows = 0;
    let after = 0;
    for (;;) {
      const r = await pool.query<{ processed_seq: string }>(
        `SELECT id, source, dedupe_key, event_type, account_id, occurred_at, object_key, data,
                outcome, processed_seq FROM billing_events
          WHERE processed_seq > $1::bigint ORDER BY processed_seq LIMIT 5000`,
        [after],
      );
      rows += r.rows.length;
      if (r.rows.length < 5000) break;
      after = Number(r.rows.at(-1)?.processed_seq);
    }
    const scanSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const result = await rebuildProjection(pool, { apply: false });
    const seconds = (performance.now() - t1) / 1000;
    if (!result.ok || result.outcome_mismatches.length > 0 || result.events !== rows) {
      throw new Error(`the rebuild did not reproduce the projection (${result.events} events)`);
    }
    return {
      value: result.events / seconds,
      baseline: rows / scanSeconds,
      unit: 'events/s folded and compared',
      extra: {
        events: result.events,
        accounts: result.accounts,
        seconds,
        scan_seconds: scanSeconds,
      },
    };
  } finally {
    await pool.end();
  }
}
