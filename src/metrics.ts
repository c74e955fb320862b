// Prometheus metrics (SPEC §6 /metrics). Database-derived gauges are read at scrape time.
import type pg from 'pg';
import client from 'prom-client';
import { STATUSES } from './domain/types';

export interface Metrics {
  registry: client.Registry;
  webhooks: client.Counter<'source' | 'result'>;
  rejections: client.Counter<'source' | 'reason'>;
  gateDecisions: client.Counter<'action' | 'allowed'>;
  confirmTotal: client.Counter;
  confirmRejected: client.Counter;
  proposeTotal: client.Counter;
}

export function createMetrics(pool: pg.Pool): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const r = { registers: [registry] };
  const metrics: Metrics = {
    registry,
    webhooks: new client.Counter({ name: 'billing_webhooks_total', help: 'Webhooks by source and result (accepted, duplicate, rejected).', labelNames: ['source', 'result'], ...r }),
    rejections: new client.Counter({ name: 'billing_webhook_rejections_total', help: 'Rejected webhooks by source and reason.', labelNames: ['source', 'reason'], ...r }),
    gateDecisions: new client.Counter({ name: 'billing_gate_decisions_total', help: 'Gate answers by action and result.', labelNames: ['action', 'allowed'], ...r }),
    confirmTotal: new client.Counter({ name: 'confirm_total', help: 'Gate checks for confirm.', ...r }),
    confirmRejected: new client.Counter({ name: 'confirm_rejected', help: 'Gate checks for confirm that were denied.', ...r }),
    proposeTotal: new client.Counter({ name: 'propose_total', help: 'Gate checks for propose (never blocked).', ...r }),
  };
  new client.Gauge({
    name: 'billing_last_sync_age_seconds',
    help: 'Seconds since the last webhook was received (billing_events.received_at).',
    ...r,
    async collect() {
      const q = await pool.query<{ age: number | null }>(
        `SELECT EXTRACT(EPOCH FROM now() - max(received_at))::float8 AS age FROM billing_events WHERE source IN ('stripe','myasp')`,
      );
      this.set(q.rows[0]?.age ?? -1);
    },
  });
  new client.Gauge({
    name: 'billing_accounts',
    help: 'Accounts by status (billing_accounts).',
    labelNames: ['status'],
    ...r,
    async collect() {
      const q = await pool.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM billing_accounts GROUP BY status');
      const counts = new Map(q.rows.map((row) => [row.status, row.n]));
      for (const s of STATUSES) this.set({ status: s }, counts.get(s) ?? 0);
    },
  });
  new client.Gauge({
    name: 'billing_events_pending',
    help: 'Stored events not yet processed by their account workflow.',
    ...r,
    async collect() {
      const q = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM billing_events WHERE outcome IS NULL');
      this.set(q.rows[0]?.n ?? 0);
    },
  });
  return metrics;
}

export function countGate(m: Metrics, action: string, allowed: boolean): void {
  m.gateDecisions.inc({ action, allowed: String(allowed) });
  if (action === 'confirm') {
    m.confirmTotal.inc();
    if (!allowed) m.confirmRejected.inc();
  }
  if (action === 'propose') m.proposeTotal.inc();
}
