// The account workflow on the real time-skipping test server, with the real activities writing to
// a real PostgreSQL database.
import fs from 'node:fs';
import path from 'node:path';

import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

import { createActivities } from '../../activities';
import { getAccount } from '../../src/db/queries/billing-accounts';
import type { BillingEvent } from '../../src/domain/types';
import type { EventData } from '../../src/domain/types';
import { createStripeApi } from '../../src/services/stripe-api';
import {
  applyEventAndWait,
  applyThrough,
  type BillingTemporal,
  wakeAccount,
} from '../../src/temporal/client';
import { accountWorkflowId } from '../../src/temporal/ids';
import { WORKFLOWS_PATH } from '../../src/temporal/worker';
import { accountStateQuery, reloadStateSignal } from '../../workflows/messages';
import { mockSubscription } from '../fixtures/stripe-mock';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { data, isoAfter, storeEvent } from '../helpers/events';
import { registerSearchAttributes } from '../helpers/search-attributes';
import { StripeStandin } from '../helpers/stripe-standin';
import { createTimeSkippingEnv } from '../helpers/temporal';
import { createTestLogger } from '../helpers/test-logs';
import { waitFor } from '../helpers/wait';

let env: TestWorkflowEnvironment;
let db: TestDatabase;
let bundle: WorkflowBundleWithSourceMap;
let temporal: BillingTemporal;
let worker: Worker;
let running: Promise<void>;
const taskQueue = 'billing-workflow-test';
const STRIPE_KEY = 'sk_test_workflow_0123456789';
const stripe = new StripeStandin(STRIPE_KEY);

beforeAll(async () => {
  const stripeUrl = await stripe.start();
  [env, db, bundle] = await Promise.all([
    createTimeSkippingEnv(),
    createTestDatabase(),
    bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} },
    }),
  ]);
  await registerSearchAttributes(env.connection);
  temporal = { client: env.client, connection: env.connection, taskQueue, namespace: 'default' };
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createActivities({
      pool: db.pool,
      logger: createTestLogger('activities').logger,
      stripe: {
        api: () => createStripeApi({ apiKey: STRIPE_KEY, apiUrl: stripeUrl }),
        apply: (event) => applyThrough(temporal)(event),
        concurrency: 1,
      },
    }),
  });
  running = worker.run();
});

afterAll(async () => {
  if (process.env.RECORD_HISTORIES) await recordHistories();
  worker?.shutdown();
  await running;
  await env?.teardown();
  await db?.drop();
  await stripe.stop();
});

let n = 0;
const scenarios = new Map<string, string>();
const newAccount = () => {
  const id = `acct_wf_${++n}`;
  scenarios.set(id, expect.getState().currentTestName ?? id);
  return id;
};

/**
 * `RECORD_HISTORIES=1 npx jest test/workflows/billing-account.test.ts` records the history of each
 * scenario's runs that has none yet in test/fixtures/histories (a run that continued as new is
 * `<name>-run<n>.json`). It never overwrites one: the committed histories are what the release
 * produced, and the replay test holds later code to them (docs/decisions.md, 2026-12-07).
 */
async function recordHistories(): Promise<void> {
  const dir = path.join(__dirname, '..', 'fixtures', 'histories');
  fs.mkdirSync(dir, { recursive: true });
  for (const [id, name] of scenarios) {
    const file = name
      .replace(/^billingAccountWorkflow /, '')
      .replace(/[^a-z0-9]+/gi, '-')
      .slice(0, 80)
      .replace(/-+$/, '');
    const runs = await historiesOf(accountWorkflowId(id));
    for (const [i, history] of runs.entries()) {
      const target = path.join(
        dir,
        i === runs.length - 1 ? `${file}.json` : `${file}-run${i + 1}.json`,
      );
      if (!fs.existsSync(target)) fs.writeFileSync(target, JSON.stringify(history, null, 1) + '\n');
    }
  }
}

/** Every run of a workflow, first to current (each run's start names the run it continues). */
async function historiesOf(workflowId: string) {
  const histories = [];
  for (let runId: string | undefined = undefined; ;) {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    histories.unshift(history);
    runId =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ??
      undefined;
    if (!runId) return histories;
  }
}
const now = () => env.currentTimeMs();

/** A wake-up of the event's account, as the delivery relay sends it after the commit. */
async function send(event: BillingEvent): Promise<void> {
  await wakeAccount(temporal, event.account_id, 10_000);
}

async function outcomeOf(event: BillingEvent): Promise<string> {
  return waitFor(
    async () => {
      const r = await db.pool.query<{ outcome: string | null }>(
        'SELECT outcome FROM billing_events WHERE id = $1',
        [event.event_id],
      );
      return r.rows[0]?.outcome ?? undefined;
    },
    { what: `outcome of event ${event.event_id}` },
  );
}

async function statusOf(accountId: string): Promise<string | undefined> {
  return (await getAccount(db.pool, accountId))?.status;
}

async function sendAndWait(event: BillingEvent): Promise<string> {
  await send(event);
  return outcomeOf(event);
}

describe('billingAccountWorkflow', () => {
  it('when a cancel is scheduled 30 days out, then the account is canceled at period end', async () => {
    const id = newAccount();
    const t = await now();
    await sendAndWait(
      await storeEvent(db.pool, data.started(), { account_id: id, occurred_at: isoAfter(t, 0) }),
    );
    const periodEnd = isoAfter(t, 30);
    await sendAndWait(
      await storeEvent(db.pool, data.cancelScheduled(periodEnd), {
        account_id: id,
        occurred_at: isoAfter(t, 0.001),
      }),
    );
    expect(await statusOf(id)).toBe('canceling');
    expect((await getAccount(db.pool, id))?.scheduled_cancel_at).toBe(periodEnd);

    await env.sleep('29 days');
    expect(await statusOf(id)).toBe('canceling');
    await env.sleep('2 days');
    await waitFor(async () => (await statusOf(id)) === 'canceled', {
      what: 'canceled at period end',
    });
    const audit = await db.pool.query(
      'SELECT action, actor FROM audit_logs WHERE account_id = $1 ORDER BY id',
      [id],
    );
    expect(audit.rows.at(-1)).toEqual({ action: 'billing.canceled_at_period_end', actor: 'timer' });
    const timerEvent = await db.pool.query(
      "SELECT source, outcome FROM billing_events WHERE account_id = $1 AND source = 'timer'",
      [id],
    );
    expect(timerEvent.rows).toEqual([{ source: 'timer', outcome: 'applied' }]);
  });

  it('when a 180-day trial ends without a subscription, then the account becomes past_due', async () => {
    const id = newAccount();
    const t = await now();
    await sendAndWait(
      await storeEvent(db.pool, data.registered(isoAfter(t, 180)), {
        account_id: id,
        occurred_at: isoAfter(t, 0),
      }),
    );
    expect(await statusOf(id)).toBe('free');
    await env.sleep('179 days');
    expect(await statusOf(id)).toBe('free');
    await env.sleep('2 days');
    await waitFor(async () => (await statusOf(id)) === 'past_due', {
      what: 'past_due after trial',
    });
  });

  it('when a cancel is withdrawn before its timer, then the timer does not cancel the account', async () => {
    const id = newAccount();
    const t = await now();
    await sendAndWait(
      await storeEvent(db.pool, data.started(), { account_id: id, occurred_at: isoAfter(t, 0) }),
    );
    await sendAndWait(
      await storeEvent(db.pool, data.cancelScheduled(isoAfter(t, 30)), {
        account_id: id,
        occurred_at: isoAfter(t, 0.001),
      }),
    );
    await env.sleep('10 days');
    const withdrawn = await storeEvent(db.pool, data.cancelWithdrawn(), {
      account_id: id,
      occurred_at: isoAfter(t, 10),
    });
    expect(await sendAndWait(withdrawn)).toBe('applied');
    expect(await statusOf(id)).toBe('active');
    await env.sleep('25 days');
    const q = await env.client.workflow.getHandle(accountWorkflowId(id)).query(accountStateQuery);
    expect(q.state?.status).toBe('active');
    expect(q.next_timer).toBeNull();
    expect(await statusOf(id)).toBe('active');
  });

  it('when a payment fails with a dunning grace, then the account is past_due with grace until the grace timer ends it', async () => {
    const id = newAccount();
    const t = await now();
    await sendAndWait(
      await storeEvent(db.pool, data.started(), { account_id: id, occurred_at: isoAfter(t, 0) }),
    );
    await sendAndWait(
      await storeEvent(db.pool, data.paymentFailed(3 * 86_400_000), {
        account_id: id,
        occurred_at: isoAfter(t, 1),
      }),
    );
    expect(await getAccount(db.pool, id)).toMatchObject({
      status: 'past_due',
      grace_until: isoAfter(t, 4),
    });
    await env.sleep('4 days');
    await waitFor(async () => (await getAccount(db.pool, id))?.grace_until === null, {
      what: 'the grace ended by its timer',
    });
    const last = await db.pool.query(
      'SELECT action, actor, to_status FROM audit_logs WHERE account_id = $1 ORDER BY id DESC LIMIT 1',
      [id],
    );
    expect(last.rows).toEqual([
      { action: 'billing.grace_ended', actor: 'timer', to_status: 'past_due' },
    ]);
  });

  it('when a registration and then a correction go through the update, then each answers with its outcome and the state it left', async () => {
    const id = newAccount();
    const t = await now();
    const registration = await storeEvent(db.pool, data.registered(isoAfter(t, 14)), {
      account_id: id,
      occurred_at: isoAfter(t, 0),
    });
    // Update-with-start: the registration starts the account's workflow.
    expect(await applyEventAndWait(temporal, registration, 10_000)).toMatchObject({
      event_id: registration.event_id,
      outcome: 'applied',
      state: { status: 'free', trial_end: isoAfter(t, 14) },
    });
    const correction = await storeEvent(
      db.pool,
      {
        kind: 'manual.correction',
        status: 'past_due',
        reason: 'chargeback',
        actor: 'ops@example.jp',
        scheduled_cancel_at: null,
      },
      { account_id: id, occurred_at: isoAfter(t, 1), source: 'manual' },
    );
    expect(await applyEventAndWait(temporal, correction, 10_000)).toMatchObject({
      event_id: correction.event_id,
      outcome: 'applied',
      state: { status: 'past_due' },
    });
    const audits = await db.pool.query(
      'SELECT action, actor_role FROM audit_logs WHERE account_id = $1 ORDER BY id',
      [id],
    );
    expect(audits.rows).toEqual([
      { action: 'billing.account_registered', actor_role: 'system' },
      { action: 'billing.manual_correction', actor_role: 'operator' },
    ]);
  });

  it('when an account is woken again for events it already applied, then nothing is applied twice', async () => {
    const id = newAccount();
    const t = await now();
    const e = await storeEvent(db.pool, data.started(), {
      account_id: id,
      occurred_at: isoAfter(t, 0),
    });
    await send(e);
    await send(e);
    await outcomeOf(e);
    const failed = await storeEvent(db.pool, data.paymentFailed(), {
      account_id: id,
      occurred_at: isoAfter(t, 0.01),
    });
    await sendAndWait(failed);
    await send(e);
    const later = await storeEvent(db.pool, data.paid(), {
      account_id: id,
      occurred_at: isoAfter(t, 0.02),
    });
    await sendAndWait(later);
    const audits = await db.pool.query<{ event_id: string; n: number }>(
      'SELECT event_id, count(*)::int AS n FROM audit_logs WHERE account_id = $1 GROUP BY event_id ORDER BY event_id',
      [id],
    );
    expect(audits.rows).toEqual([e, failed, later].map((x) => ({ event_id: x.event_id, n: 1 })));
    expect(await statusOf(id)).toBe('active');
  });

  it('when events arrive out of order, then older ones are stale and the state does not go back', async () => {
    const id = newAccount();
    const t = await now();
    // Stored as they arrive (the order of billing_events ids): newest first.
    const del = await storeEvent(db.pool, data.deleted(), {
      account_id: id,
      occurred_at: isoAfter(t, 0.2),
    });
    expect(await sendAndWait(del)).toBe('applied');
    const cancel = await storeEvent(db.pool, data.cancelScheduled(isoAfter(t, 30)), {
      account_id: id,
      occurred_at: isoAfter(t, 0.1),
    });
    const created = await storeEvent(db.pool, data.started(), {
      account_id: id,
      occurred_at: isoAfter(t, 0),
    });
    expect(await sendAndWait(cancel)).toBe('stale');
    expect(await sendAndWait(created)).toBe('stale');
    expect(await statusOf(id)).toBe('canceled');
    const stale = await db.pool.query(
      "SELECT count(*)::int AS n FROM audit_logs WHERE account_id = $1 AND action = 'billing.event_stale'",
      [id],
    );
    expect(stale.rows[0]).toEqual({ n: 2 });
  });

  it('when the row is rewritten outside the workflow, then only a reloadState signal makes the workflow keep it', async () => {
    const id = newAccount();
    const t = await now();
    await sendAndWait(
      await storeEvent(db.pool, data.started(), { account_id: id, occurred_at: isoAfter(t, 0) }),
    );
    const emailOf = async () => (await getAccount(db.pool, id))?.email;
    // Without the signal the workflow writes its in-memory state back on the next event.
    await db.pool.query('UPDATE billing_accounts SET email = $2 WHERE account_id = $1', [
      id,
      'lost@example.jp',
    ]);
    await sendAndWait(
      await storeEvent(db.pool, data.paymentFailed(), {
        account_id: id,
        occurred_at: isoAfter(t, 1),
      }),
    );
    expect(await emailOf()).toBeNull();
    // What rebuild-projection --apply does after rewriting a row.
    await db.pool.query('UPDATE billing_accounts SET email = $2 WHERE account_id = $1', [
      id,
      'kept@example.jp',
    ]);
    await env.client.workflow.getHandle(accountWorkflowId(id)).signal(reloadStateSignal);
    await sendAndWait(
      await storeEvent(db.pool, data.paid(), { account_id: id, occurred_at: isoAfter(t, 2) }),
    );
    expect(await emailOf()).toBe('kept@example.jp');
    expect(await statusOf(id)).toBe('active');
  });

  it('when a run reaches its event limit, then it continues as new with its state', async () => {
    const id = newAccount();
    const t = await now();
    const workflowId = accountWorkflowId(id);
    await env.client.workflow.start('billingAccountWorkflow', {
      workflowId,
      taskQueue,
      args: [{ account_id: id, max_events_per_run: 3 }],
    });
    const first = await storeEvent(db.pool, data.started(), {
      account_id: id,
      occurred_at: isoAfter(t, 0),
    });
    await sendAndWait(first);
    const firstRun = (await env.client.workflow.getHandle(workflowId).describe()).runId;
    await sendAndWait(
      await storeEvent(db.pool, data.paymentFailed(), {
        account_id: id,
        occurred_at: isoAfter(t, 1),
      }),
    );
    await sendAndWait(
      await storeEvent(db.pool, data.paid(), { account_id: id, occurred_at: isoAfter(t, 2) }),
    );
    await sendAndWait(
      await storeEvent(db.pool, data.cancelScheduled(isoAfter(t, 40)), {
        account_id: id,
        occurred_at: isoAfter(t, 3),
      }),
    );
    const handle = env.client.workflow.getHandle(workflowId);
    // The last event may be applied by the old run (it arrived while the run was about to
    // continue as new); the new run follows right after.
    await waitFor(async () => (await handle.describe()).runId !== firstRun, {
      what: 'a new run after the event limit',
    });
    const q = await handle.query(accountStateQuery);
    expect(q.state?.status).toBe('canceling');
    expect(q.state?.stripe_subscription_id).toBe('sub_1');
    // An event applied in the previous run is not applied again by a later wake-up.
    await send(first);
    const probe = await storeEvent(db.pool, data.paymentFailed(), {
      account_id: id,
      occurred_at: isoAfter(t, 4),
    });
    expect(await sendAndWait(probe)).toBe('applied');
    const audits = await db.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM audit_logs WHERE event_id = $1',
      [first.event_id],
    );
    expect(audits.rows[0]?.n).toBe('1');
    expect(await statusOf(id)).toBe('past_due');
  });

  it('when an add-on ends and the base plan’s cancel timer is undone by a late withdrawal, then the account follows its subscriptions', async () => {
    const id = newAccount();
    const t = await now();
    const base = { subscription_id: 'sub_base' };
    const addOn = { subscription_id: 'sub_addon', plan: 'price_addon', amount: 500 };
    const on = (key: string) => ({ account_id: id, object_key: `stripe:${key}` });
    await sendAndWait(
      await storeEvent(
        db.pool,
        { ...data.started(), ...base },
        { ...on('sub_base'), occurred_at: isoAfter(t, 0) },
      ),
    );
    await sendAndWait(
      await storeEvent(
        db.pool,
        { ...data.started(), ...addOn },
        { ...on('sub_addon'), occurred_at: isoAfter(t, 0.01) },
      ),
    );
    await sendAndWait(
      await storeEvent(
        db.pool,
        { ...data.deleted(), ...addOn },
        { ...on('sub_addon'), occurred_at: isoAfter(t, 1) },
      ),
    );
    expect(await statusOf(id)).toBe('active');
    expect((await getAccount(db.pool, id))?.stripe_subscription_id).toBe('sub_base');
    await sendAndWait(
      await storeEvent(
        db.pool,
        { ...data.cancelScheduled(isoAfter(t, 30)), ...base },
        {
          ...on('sub_base'),
          occurred_at: isoAfter(t, 2),
        },
      ),
    );
    expect(await statusOf(id)).toBe('canceling');
    await env.sleep('31 days');
    await waitFor(async () => (await statusOf(id)) === 'canceled', {
      what: 'canceled by the timer',
    });
    const withdrawal = await storeEvent(
      db.pool,
      { ...data.cancelWithdrawn(), ...base },
      {
        ...on('sub_base'),
        occurred_at: isoAfter(t, 29),
      },
    );
    expect(await sendAndWait(withdrawal)).toBe('applied');
    expect(await statusOf(id)).toBe('active');
    const q = await env.client.workflow.getHandle(accountWorkflowId(id)).query(accountStateQuery);
    expect(q.state?.status_object).toBe('stripe:sub_base');
  });

  it('when many events of one account are stored before one wake-up, then one local activity applies them all in order, exactly once, and the history names each event', async () => {
    const id = newAccount();
    const t = await now();
    const events: BillingEvent[] = [];
    for (let i = 0; i < 30; i++) {
      const kind = i === 0 ? data.started() : i % 2 === 1 ? data.paymentFailed() : data.paid();
      events.push(
        await storeEvent(db.pool, kind, { account_id: id, occurred_at: isoAfter(t, i * 0.01) }),
      );
    }
    await wakeAccount(temporal, id, 10_000);
    for (const e of events) expect(await outcomeOf(e)).toBe('applied');
    // A second wake-up (a re-sent signal) finds nothing left to apply.
    await wakeAccount(temporal, id, 10_000);
    const handle = env.client.workflow.getHandle(accountWorkflowId(id));
    await waitFor(
      async () => (await handle.query(accountStateQuery)).wake_ups_in_run >= 2 || undefined,
      { what: 'the second wake-up handled' },
    );
    const rows = await db.pool.query<{ id: string; processed_seq: string; audits: number }>(
      `SELECT e.id, e.processed_seq,
              (SELECT count(*)::int FROM audit_logs a WHERE a.event_id = e.id) AS audits
         FROM billing_events e WHERE e.account_id = $1 ORDER BY e.id`,
      [id],
    );
    expect(rows.rows.map((r) => r.audits)).toEqual(events.map(() => 1));
    const seqs = rows.rows.map((r) => Number(r.processed_seq));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(await statusOf(id)).toBe('past_due');

    const history = await handle.fetchHistory();
    const kinds = history.events?.map((e) => e.eventType) ?? [];
    // No normal activity per event: the batch is a local activity (a marker in the history).
    expect(kinds.filter((k) => String(k).includes('ACTIVITY_TASK_SCHEDULED'))).toEqual([]);
    const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes);
    expect(markers.length).toBeGreaterThanOrEqual(1);
    expect(markers.length).toBeLessThanOrEqual(3);
    const trail = JSON.stringify(
      markers.map((m) =>
        Object.values(m.markerRecordedEventAttributes?.details ?? {}).map((d) =>
          (d.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString('utf8')),
        ),
      ),
    );
    expect(trail).toContain('applyPendingEvents');
    for (const e of events) {
      expect(trail).toContain(`\\"event_id\\":\\"${e.event_id}\\"`);
    }
    expect(trail).toContain('\\"event_type\\":\\"stripe.payment_failed\\"');
    expect(trail).toContain('\\"outcome\\":\\"applied\\"');
    expect(trail).toContain('\\"to_status\\":\\"past_due\\"');
  });

  it('when two events of one subscription share a second and disagree, then Stripe is asked and its answer is applied as a reconcile event', async () => {
    const id = newAccount();
    const t = await now();
    const onSub = (d: EventData) =>
      ({ ...d, subscription_id: 'sub_eq', customer_id: 'cus_eq' }) as EventData;
    const at = (occurred_at: string) => ({
      account_id: id,
      occurred_at,
      object_key: 'stripe:sub_eq',
    });
    const started = await storeEvent(db.pool, onSub(data.started()), at(isoAfter(t, 0)));
    expect(await sendAndWait(started)).toBe('applied');
    const second = isoAfter(t, 1);
    const withdrawn = await storeEvent(db.pool, onSub(data.cancelWithdrawn()), at(second));
    expect(await sendAndWait(withdrawn)).toBe('applied');
    // Stripe holds the withdrawal; the scheduled cancel of the same second arrives last.
    stripe.put(
      mockSubscription(
        {
          subscriptionId: 'sub_eq',
          customerId: 'cus_eq',
          status: 'active',
          created: Math.floor(t / 1000),
          periodEnd: Math.floor(t / 1000) + 30 * 86_400,
        },
        'basil',
      ),
    );
    const scheduled = await storeEvent(
      db.pool,
      onSub(data.cancelScheduled(isoAfter(t, 30))),
      at(second),
    );
    expect(await sendAndWait(scheduled)).toBe('applied');

    const reconciled = await waitFor(
      async () =>
        (
          await db.pool.query<{ id: string; outcome: string | null; occurred_at: string }>(
            `SELECT id, outcome, occurred_at FROM billing_events
              WHERE account_id = $1 AND source = 'reconcile'`,
            [id],
          )
        ).rows.find((r) => r.outcome !== null),
      { what: 'the reconcile event applied' },
    );
    expect(reconciled.outcome).toBe('applied');
    expect(Date.parse(reconciled.occurred_at)).toBeGreaterThanOrEqual(Date.parse(second));
    expect(await statusOf(id)).toBe('active');
    const audits = await db.pool.query<{ action: string; details: Record<string, unknown> }>(
      'SELECT action, details FROM audit_logs WHERE account_id = $1 ORDER BY id',
      [id],
    );
    expect(audits.rows.map((r) => r.action)).toEqual([
      'billing.subscription_created',
      'billing.subscription_updated',
      'billing.subscription_updated',
      'billing.reconciled',
    ]);
    expect(audits.rows[2]?.details).toMatchObject({
      equal_second_conflict: { subscription_id: 'sub_eq', fields: ['cancel_at'] },
    });
    expect(stripe.requests).toContainEqual(
      expect.objectContaining({ method: 'GET', path: '/v1/subscriptions/sub_eq' }),
    );
    const history = await env.client.workflow.getHandle(accountWorkflowId(id)).fetchHistory();
    const asked = (history.events ?? []).filter(
      (e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'reconcileSubscriptions',
    );
    expect(asked).toHaveLength(1);
  });
});
