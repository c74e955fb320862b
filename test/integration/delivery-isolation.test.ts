// One event that cannot be delivered never blocks the others (SPEC §4.5, §9 "delivery"): the
// sweeper isolates accounts, tells "Temporal refused this event" from "Temporal is unavailable",
// and dead-letters what can never be delivered, where the daily check, /metrics and the operator
// CLI show it. And the daily check fails on any backlog while Temporal is unreachable. Real
// PostgreSQL and the suite's Temporal dev server; a closed port stands for Temporal being down.
import { randomBytes } from 'node:crypto';

import type pg from 'pg';

import type { StoredEvent } from '../../src/db/queries/billing-events';
import { classifyDeliveryError, describeDeliveryError } from '../../src/delivery/errors';
import { EventDelivery } from '../../src/delivery/outbox';
import { findFreePort } from '../../src/dev/local-stack';
import { type BillingTemporal, connectTemporal, wakeAccount } from '../../src/temporal/client';
import * as fx from '../fixtures/stripe';
import { runCli, runTsx } from '../helpers/cli';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { storeStripePayload } from '../helpers/events';
import { json, postStripe } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';
import { createTestLogger } from '../helpers/test-logs';
import { waitFor } from '../helpers/wait';

/** What an older version stored before account ids were limited: the event as the route had it. */
function storeAsReceived(
  pool: pg.Pool,
  accountId: string,
  payload = fx.subscriptionCreated({
    accountId,
    customerId: fx.stripeId('cus'),
    subscriptionId: fx.stripeId('sub'),
    created: nowS(),
  }),
): Promise<StoredEvent> {
  return storeStripePayload(pool, accountId, payload);
}

interface DeliveryRow {
  outcome: string | null;
  attempts: number | null;
  failures: number | null;
  dead_at: string | null;
  last_error: string | null;
}

async function deliveryRow(pool: pg.Pool, id: string): Promise<DeliveryRow | undefined> {
  const r = await pool.query<DeliveryRow>(
    `SELECT e.outcome, d.attempts, d.failures, d.dead_at, d.last_error
       FROM billing_events e LEFT JOIN event_deliveries d ON d.event_id = e.id
      WHERE e.id = $1::bigint`,
    [id],
  );
  return r.rows[0];
}

function item(result: Record<string, unknown>, name: string) {
  const items = result.items as { name: string; status: string; value: unknown; message: string }[];
  return items.find((i) => i.name === name);
}

const POISON = 'x'.repeat(1000);

describe('A stored event whose account can never have a workflow', () => {
  let svc: TestService;

  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when it is first in line, then the events behind it are delivered and applied, and it is dead-lettered, shown by the daily check, /metrics and the CLI, and a retry keeps it dead with the reason', async () => {
    const poison = await storeAsReceived(svc.db.pool, POISON);
    const accounts = [1, 2, 3].map((i) => faultAccountId(`behind_${i}`));
    const others: StoredEvent[] = [];
    for (const accountId of accounts) others.push(await storeAsReceived(svc.db.pool, accountId));

    await waitFor(
      async () => {
        const rows = await Promise.all(others.map((e) => deliveryRow(svc.db.pool, e.id)));
        return rows.every((r) => r?.outcome === 'applied');
      },
      { timeoutMs: 30_000, what: 'the events behind the poison one applied' },
    );
    for (const accountId of accounts) {
      const view = await json(svc.admin(`/v1/accounts/${accountId}`));
      expect(view).toMatchObject({ status: 200, body: { status: 'active' } });
    }
    const dead = await waitFor(
      async () => {
        const r = await deliveryRow(svc.db.pool, poison.id);
        return r?.dead_at ? r : undefined;
      },
      { what: 'the poison event dead-lettered' },
    );
    expect(dead).toMatchObject({ outcome: null, failures: 1 });
    expect(dead.last_error).toContain('1,000 characters');

    const check = await json(svc.admin('/v1/ops/daily-check'));
    expect(item(check.body, 'dead_letters')).toMatchObject({
      status: 'fail',
      value: { count: 1, sample: [{ event_id: poison.id, account_id_length: 1000 }] },
    });
    // A dead letter waits for an operator, not for delivery.
    expect(item(check.body, 'delivery_backlog')?.value).toMatchObject({ waiting: 0 });
    const metrics = await (await fetch(`${svc.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^billing_events_dead_lettered 1$/m);

    const list = await runCli(svc, ['dead-letters', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${poison.id} `);
    expect(list.stdout).toContain('(1000 chars)');
    const shown = await runCli(svc, ['dead-letters', 'show', poison.id, '--json']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      event_id: poison.id,
      full_account_id: POISON,
      last_error: dead.last_error,
    });

    const retried = await runCli(svc, ['dead-letters', 'retry', poison.id]);
    expect(retried.code).toBe(1);
    expect(retried.stdout).toContain(`Event ${poison.id} is still dead-lettered:`);
    expect(retried.stdout).toContain('can never be delivered');
    expect(await deliveryRow(svc.db.pool, poison.id)).toMatchObject({
      outcome: null,
      failures: 1,
      dead_at: expect.any(String),
    });
    const unknown = await runCli(svc, ['dead-letters', 'retry', others[0]?.id ?? '']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('is not dead-lettered');
  });
});

describe('Temporal refusing one event versus Temporal being unavailable', () => {
  let db: TestDatabase;
  const connections: BillingTemporal[] = [];
  const logger = createTestLogger('delivery').logger;
  const temporal = (
    taskQueue = `isolation-${randomBytes(4).toString('hex')}`,
    address?: string,
  ) => {
    const t = connectTemporal({
      address: address ?? process.env.TEST_TEMPORAL_ADDRESS ?? '',
      namespace: process.env.TEST_TEMPORAL_NAMESPACE ?? 'default',
      taskQueue,
    });
    connections.push(t);
    return t;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.allSettled(connections.map((t) => t.connection.close()));
    await db?.drop();
  });

  it('when Temporal answers INVALID_ARGUMENT, then it is the event; when nothing listens, then it is Temporal', async () => {
    const poison = await storeAsReceived(db.pool, POISON);
    const refused = await wakeAccount(temporal(), poison.account_id, 5000).catch((e: unknown) => e);
    expect(classifyDeliveryError(refused)).toBe('event');
    expect(describeDeliveryError(refused)).toMatch(/^INVALID_ARGUMENT/);

    const normal = await storeAsReceived(db.pool, faultAccountId('unreachable'));
    const down = temporal(undefined, `127.0.0.1:${await findFreePort()}`);
    const unreachable = await wakeAccount(down, normal.account_id, 2000).catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(Error);
    expect(classifyDeliveryError(unreachable)).toBe('unavailable');
  });

  it('when one event is dead-lettered inline, then the next webhook is still delivered inline', async () => {
    const delivery = new EventDelivery(db.pool, temporal(), logger, { waitMs: 5000 });
    try {
      const poison = await storeAsReceived(db.pool, POISON);
      expect(await delivery.attempt(poison)).toBe('dead');
      const next = await storeAsReceived(db.pool, faultAccountId('inline'));
      expect(await delivery.deliverSoon(next)).toBe('accepted_by_workflow');
    } finally {
      await delivery.stop();
    }
  });

  it('when Temporal refuses an event again and again, then it is dead-lettered after the configured number of refusals', async () => {
    // A task queue name over Temporal's limit: every signal-with-start is refused as invalid.
    const delivery = new EventDelivery(db.pool, temporal('q'.repeat(1001)), logger, {
      waitMs: 0,
      maxFailures: 2,
    });
    try {
      const event = await storeAsReceived(db.pool, faultAccountId('refused'));
      expect(await delivery.attempt(event)).toBe('failed');
      expect(await deliveryRow(db.pool, event.id)).toMatchObject({ failures: 1, dead_at: null });
      expect(await delivery.attempt(event)).toBe('dead');
      const row = await deliveryRow(db.pool, event.id);
      expect(row).toMatchObject({ failures: 2, dead_at: expect.any(String) });
      expect(row?.last_error).toMatch(/^INVALID_ARGUMENT/);
    } finally {
      await delivery.stop();
    }
  });
});

describe('The daily check while Temporal is unreachable', () => {
  let svc: TestService;
  let deadAddress: string;

  beforeAll(async () => {
    deadAddress = `127.0.0.1:${await findFreePort()}`;
    svc = await startService({ role: 'api', env: { TEMPORAL_ADDRESS: deadAddress } });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when webhooks were stored moments ago, then the delivery backlog fails with their count over HTTP and in the CLI', async () => {
    for (const i of [1, 2, 3]) {
      const answer = await postStripe(
        svc.baseUrl,
        fx.subscriptionCreated({
          accountId: faultAccountId(`backlog_${i}`),
          customerId: fx.stripeId('cus'),
          subscriptionId: fx.stripeId('sub'),
          created: nowS(),
        }),
      );
      // The first may go out before the relay learns that Temporal is unreachable.
      expect(answer.status).toBe(200);
      expect(['sending', 'queued']).toContain(answer.body.delivery);
    }

    const check = await json(svc.admin('/v1/ops/daily-check'));
    expect(item(check.body, 'delivery_backlog')).toMatchObject({
      status: 'fail',
      value: { waiting: 3, temporal_reachable: false },
    });
    expect(item(check.body, 'delivery_backlog')?.message).toContain(
      '3 stored event(s) wait for delivery and Temporal is unreachable',
    );
    expect(check.body).toMatchObject({ ok: false });

    const cli = await runTsx('src/cli/index.ts', ['daily-check'], {
      DATABASE_URL: svc.db.databaseUrl,
      TEMPORAL_ADDRESS: deadAddress,
    });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/FAIL\s+delivery_backlog\s+3 stored event\(s\) wait for delivery/);
  });
});
