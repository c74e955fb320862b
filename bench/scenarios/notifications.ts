// Notifications to the host app (SPEC §10) during the renewal burst: a local receiver verifying
// every message with `standardwebhooks`, registered as an endpoint just before the burst. While
// the burst is applied the backlog of undelivered messages is sampled; after it, how long the
// backlog takes to drain. Delivery lag (change committed → 2xx), messages/s, and the Temporal
// actions the endpoint's workflow took per change (signals, activities, timers, starts and
// continue-as-new, read from its histories).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { temporal as proto } from '@temporalio/proto';
import type pg from 'pg';
import { Webhook } from 'standardwebhooks';

import { insertEndpoint } from '../../src/db/queries/notifications';
import type { BillingTemporal } from '../../src/temporal/client';
import { notificationEndpointWorkflowId } from '../../src/temporal/ids';

const E = proto.api.enums.v1.EventType;
/** History events that Temporal Cloud bills as actions. */
const ACTION_EVENTS = new Set<number>([
  E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
  E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
  E.EVENT_TYPE_TIMER_STARTED,
  E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

export interface NotificationWatch {
  /** Call once the burst is applied: waits for the backlog to drain and returns the figures. */
  finish(): Promise<Record<string, number>>;
}

export async function watchNotifications(
  pool: pg.Pool,
  temporal: BillingTemporal,
): Promise<NotificationWatch> {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const webhook = new Webhook(secret);
  let received = 0;
  let unverified = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        webhook.verify(
          Buffer.concat(chunks).toString('utf8'),
          req.headers as Record<string, string>,
        );
        received += 1;
        res.writeHead(204).end();
      } catch {
        unverified += 1;
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const id = `ep_bench_${randomBytes(4).toString('hex')}`;
  await insertEndpoint(pool, {
    id,
    url: `http://127.0.0.1:${port}/notifications`,
    secret,
    types: null,
    source: 'api',
  });
  const backlog = async () =>
    (
      await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM notification_messages
          WHERE endpoint_id = $1 AND delivered_at IS NULL AND failed_at IS NULL`,
        [id],
      )
    ).rows[0]?.n ?? 0;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    void backlog().then((n) => samples.push(n));
  }, 500);
  return {
    async finish() {
      clearInterval(sampler);
      const atApplied = await backlog();
      const applied = Date.now();
      const deadline = applied + 10 * 60_000;
      while ((await backlog()) > 0) {
        if (Date.now() > deadline)
          throw new Error('the notification backlog did not drain in 10 minutes');
        await new Promise((r) => setTimeout(r, 100));
      }
      const drainSeconds = (Date.now() - applied) / 1000;
      const s = await pool.query<{
        n: number;
        p50: number;
        p99: number;
        max: number;
        seconds: number;
      }>(
        `SELECT count(*)::int AS n,
                extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY m.delivered_at - c.created_at))::float8 AS p50,
                extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY m.delivered_at - c.created_at))::float8 AS p99,
                extract(epoch FROM max(m.delivered_at - c.created_at))::float8 AS max,
                extract(epoch FROM max(m.delivered_at) - min(c.created_at))::float8 AS seconds
           FROM notification_messages m JOIN billing_changes c ON c.change_id = m.change_id
          WHERE m.endpoint_id = $1`,
        [id],
      );
      const row = s.rows[0];
      const actions = await countActions(temporal, notificationEndpointWorkflowId(id));
      // The endpoint out of the way of later scenarios; its workflow ends at its next round.
      await pool.query(`UPDATE notification_endpoints SET deleted_at = now() WHERE id = $1`, [id]);
      await temporal.client.workflow
        .getHandle(notificationEndpointWorkflowId(id))
        .terminate('benchmark over')
        .catch(() => undefined);
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      const messages = row?.n ?? 0;
      return {
        notify_messages: messages,
        notify_received: received,
        notify_unverified: unverified,
        notify_messages_per_s: messages / Math.max(0.001, row?.seconds ?? 0),
        notify_lag_p50_s: row?.p50 ?? NaN,
        notify_lag_p99_s: row?.p99 ?? NaN,
        notify_lag_max_s: row?.max ?? NaN,
        notify_backlog_max: Math.max(0, ...samples),
        notify_backlog_at_applied: atApplied,
        notify_drain_s: drainSeconds,
        notify_temporal_actions: actions,
        notify_actions_per_change: actions / Math.max(1, messages),
      };
    },
  };
}

/** Billable events over every run of the workflow (continue-as-new starts a new run). */
async function countActions(temporal: BillingTemporal, workflowId: string): Promise<number> {
  let actions = 0;
  let runId: string | undefined;
  for (let run = 0; run < 1000; run++) {
    const history = await temporal.client.workflow.getHandle(workflowId, runId).fetchHistory();
    let next: string | undefined;
    for (const e of history.events ?? []) {
      if (e.eventType != null && ACTION_EVENTS.has(e.eventType)) actions += 1;
      const cont = e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (cont) next = cont;
    }
    if (!next) break;
    runId = next;
  }
  return actions;
}
