// Prometheus metrics (SPEC §6 /metrics). Database-derived gauges are read at scrape time.
import type pg from 'pg';
import client from 'prom-client';

import { countDeadLetters } from './db/queries/event-deliveries';
import { endpointHealth } from './db/queries/notifications';
import { countReconcileCorrections } from './db/queries/reconciliation';
import type { ReadFoldSummary } from './domain/gate';
import { STATUSES } from './domain/types';

export interface Metrics {
  registry: client.Registry;
  webhooks: client.Counter<'source' | 'result'>;
  rejections: client.Counter<'source' | 'reason'>;
  /** Rejections answered while PostgreSQL was down, waiting in memory to be recorded. */
  rejectionsBuffered: client.Gauge;
  /** Rejections that could not be recorded: the outage buffer was full. */
  rejectionsDropped: client.Counter<'source'>;
  gateDecisions: client.Counter<'action' | 'allowed'>;
  confirmTotal: client.Counter;
  confirmRejected: client.Counter;
  proposeTotal: client.Counter;
  /** Reads that folded in what the account's workflow had not applied yet (SPEC §6). */
  readFolds: client.Counter<'read' | 'kind'>;
  /** Gate and account reads refused by their per-token budget (GATE_RATE_LIMIT_PER_MINUTE). */
  gateRateLimited: client.Counter<'token'>;
}

export function createMetrics(pool: pg.Pool): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const registers = { registers: [registry] };
  const metrics: Metrics = {
    registry,
    webhooks: new client.Counter({
      name: 'billing_webhooks_total',
      help: 'Webhooks by source and result (accepted, duplicate, rejected).',
      labelNames: ['source', 'result'],
      ...registers,
    }),
    rejections: new client.Counter({
      name: 'billing_webhook_rejections_total',
      help: 'Rejected webhooks by source and reason.',
      labelNames: ['source', 'reason'],
      ...registers,
    }),
    rejectionsBuffered: new client.Gauge({
      name: 'billing_webhook_rejections_buffered',
      help: 'Rejected webhooks answered while PostgreSQL was down, waiting in memory to be recorded in webhook_rejections.',
      ...registers,
    }),
    rejectionsDropped: new client.Counter({
      name: 'billing_webhook_rejections_dropped_total',
      help: 'Rejected webhooks that could not be recorded in webhook_rejections because the outage buffer was full.',
      labelNames: ['source'],
      ...registers,
    }),
    gateDecisions: new client.Counter({
      name: 'billing_gate_decisions_total',
      help: 'Gate answers by action and result.',
      labelNames: ['action', 'allowed'],
      ...registers,
    }),
    confirmTotal: new client.Counter({
      name: 'confirm_total',
      help: 'Gate checks for confirm.',
      ...registers,
    }),
    confirmRejected: new client.Counter({
      name: 'confirm_rejected',
      help: 'Gate checks for confirm that were denied.',
      ...registers,
    }),
    proposeTotal: new client.Counter({
      name: 'propose_total',
      help: 'Gate checks for propose (never blocked).',
      ...registers,
    }),
    readFolds: new client.Counter({
      name: 'billing_read_folds_total',
      help: 'Gate answers and account reads that folded in what the account workflow had not applied yet, by read and kind: events (acknowledged, not yet applied), deadline (passed, timer not fired yet), not_folded (a pending event the answer could not include).',
      labelNames: ['read', 'kind'],
      ...registers,
    }),
    gateRateLimited: new client.Counter({
      name: 'billing_gate_rate_limited_total',
      help: 'Gate and account reads answered 429 because their token used up GATE_RATE_LIMIT_PER_MINUTE, by kind of token (gate, admin).',
      labelNames: ['token'],
      ...registers,
    }),
  };
  const db = { registry, pool };
  dbGauge(
    db,
    'billing_last_sync_age_seconds',
    'Seconds since the last provider webhook was received (billing_events.received_at); -1 when none yet.',
    async (g) => {
      const q = await pool.query<{ age: number | null }>(
        `SELECT EXTRACT(EPOCH FROM now() - max(received_at))::float8 AS age FROM billing_events WHERE source IN ('stripe','myasp')`,
      );
      g.set(q.rows[0]?.age ?? -1);
    },
  );
  dbGauge(
    db,
    'billing_accounts',
    'Accounts by status (billing_accounts).',
    async (g) => {
      const q = await pool.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM billing_accounts GROUP BY status',
      );
      const counts = new Map(q.rows.map((row) => [row.status, row.n]));
      for (const s of STATUSES) g.set({ status: s }, counts.get(s) ?? 0);
    },
    ['status'],
  );
  dbGauge(
    db,
    'billing_events_pending',
    'Stored events not yet processed by their account workflow.',
    async (g) => {
      const q = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM billing_events WHERE outcome IS NULL',
      );
      g.set(q.rows[0]?.n ?? 0);
    },
  );
  dbGauge(
    db,
    'billing_events_dead_lettered',
    'Stored events that cannot be delivered to their account workflow (npm run ops -- dead-letters list).',
    async (g) => {
      g.set(await countDeadLetters(pool));
    },
  );
  dbGauge(
    db,
    'billing_reconcile_corrections_total',
    'Reconcile events that changed an account (billing_events source reconcile, outcome applied), by provider.',
    async (g) => {
      const counts = await countReconcileCorrections(pool);
      for (const provider of ['stripe', 'myasp']) g.set({ provider }, counts.get(provider) ?? 0);
    },
    ['provider'],
  );
  notificationGauges(db);
  return metrics;
}

/** Notifications to the host app (SPEC §10), per endpoint, read from its queue at scrape time. */
function notificationGauges(db: { registry: client.Registry; pool: pg.Pool }): void {
  const perEndpoint = (
    name: string,
    help: string,
    value: (e: Awaited<ReturnType<typeof endpointHealth>>[number]) => number,
  ) =>
    dbGauge(
      db,
      name,
      help,
      async (g) => {
        g.reset();
        for (const e of await endpointHealth(db.pool)) g.set({ endpoint: e.id }, value(e));
      },
      ['endpoint'],
    );
  perEndpoint(
    'billing_notifications_sent',
    'Notifications delivered (answered 2xx), by endpoint.',
    (e) => e.delivered,
  );
  perEndpoint(
    'billing_notifications_failed',
    'Notifications that ran out of retries and are kept as failed (npm run ops -- notifications list), by endpoint.',
    (e) => e.failed,
  );
  perEndpoint(
    'billing_notifications_pending',
    'Notifications not delivered yet (waiting their turn or their next attempt), by endpoint.',
    (e) => e.pending,
  );
  perEndpoint(
    'billing_notifications_lag_seconds',
    'Age of the oldest undelivered notification, by endpoint; 0 when none waits.',
    (e) =>
      e.oldest_pending_at ? Math.max(0, (Date.now() - Date.parse(e.oldest_pending_at)) / 1000) : 0,
  );
  perEndpoint(
    'billing_notification_endpoint_disabled',
    '1 when the endpoint is disabled (it answered 410 Gone), else 0.',
    (e) => (e.disabled_at ? 1 : 0),
  );
}

export function countGate(m: Metrics, action: string, allowed: boolean): void {
  m.gateDecisions.inc({ action, allowed: String(allowed) });
  if (action === 'confirm') {
    m.confirmTotal.inc();
    if (!allowed) m.confirmRejected.inc();
  }
  if (action === 'propose') m.proposeTotal.inc();
}

/** What a read folded in, counted by kind (nothing counted when it folded nothing). */
export function countReadFold(
  m: Metrics,
  read: 'gate' | 'account',
  summary: Pick<
    ReadFoldSummary,
    'pending_events_folded' | 'deadlines_passed' | 'pending_event_not_folded'
  >,
): void {
  if (summary.pending_events_folded > 0) m.readFolds.inc({ read, kind: 'events' });
  if (summary.deadlines_passed.length > 0) m.readFolds.inc({ read, kind: 'deadline' });
  if (summary.pending_event_not_folded) m.readFolds.inc({ read, kind: 'not_folded' });
}

/**
 * A gauge read from PostgreSQL at scrape time. When the database is down the gauge reads NaN and
 * the scrape still answers, so the in-process counters stay visible during an outage.
 */
function dbGauge(
  ctx: { registry: client.Registry; pool: pg.Pool },
  name: string,
  help: string,
  read: (gauge: client.Gauge<string>) => Promise<void>,
  labelNames: string[] = [],
): void {
  new client.Gauge({
    name,
    help,
    labelNames,
    registers: [ctx.registry],
    async collect() {
      try {
        await read(this);
      } catch {
        if (labelNames.length === 0) this.set(NaN);
        else this.reset();
      }
    },
  });
}
