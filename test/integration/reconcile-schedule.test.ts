// The daily Stripe reconciliation as a Temporal Schedule on the real dev server: the service's own
// worker runs the schedule's workflow, whose activity does what `npm run ops -- reconcile --all`
// does against a stateful Stripe stand-in (stripe-node pointed at it by STRIPE_API_URL), and keeps
// the run in reconciliation_runs.
import { randomBytes } from 'node:crypto';

import type { ReconcileSchedule } from '../../src/config';
import { ensureReconcileSchedule } from '../../src/temporal/schedules';
import { mockEvent, mockSubscription } from '../fixtures/stripe-mock';
import { auditRows, outcomeOf, statusBecomes } from '../helpers/accounts';
import { postStripe } from '../helpers/http';
import { startService, type TestService } from '../helpers/service';
import { StripeStandin } from '../helpers/stripe-standin';
import { waitFor } from '../helpers/wait';

const DAY = 86_400;
const API_KEY = 'sk_test_reconcile_schedule_0123';
const NOW = Math.floor(Date.now() / 1000);

let svc: TestService;
let stripe: StripeStandin;
const scheduleId = `billing-reconcile-stripe-test-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  stripe = new StripeStandin(API_KEY);
  const stripeUrl = await stripe.start();
  svc = await startService({ env: { STRIPE_API_KEY: API_KEY, STRIPE_API_URL: stripeUrl } });
});

afterAll(async () => {
  await svc?.running
    .temporalClient()
    .client.schedule.getHandle(scheduleId)
    .delete()
    .catch(() => undefined);
  await svc?.stop();
  await stripe?.stop();
});

const subscription = (accountId: string, id: string, status: string) =>
  mockSubscription(
    {
      subscriptionId: id,
      customerId: `cus_${accountId}`,
      status,
      created: NOW - 60 * DAY,
      periodEnd: NOW + 20 * DAY,
      accountId,
    },
    'basil',
  );

describe('daily Stripe reconciliation schedule', () => {
  it('when the schedule is triggered after a customer.subscription.deleted was lost, then its run cancels the account, audits it and is kept in reconciliation_runs', async () => {
    const account = 'acct_sched_deleted';
    const created = await postStripe(
      svc.baseUrl,
      mockEvent(
        'customer.subscription.created',
        subscription(account, 'sub_sched_del', 'active'),
        NOW - 30 * DAY,
        'basil',
      ),
    );
    expect(await outcomeOf(svc, created.body.event_id)).toBe('applied');
    await statusBecomes(svc, account, 'active');
    stripe.put(subscription(account, 'sub_sched_del', 'canceled'));

    const { client } = svc.running.temporalClient();
    const schedule = svc.config.reconcile.schedule as ReconcileSchedule;
    expect(
      await ensureReconcileSchedule(client, {
        taskQueue: svc.config.taskQueue,
        schedule,
        scheduleId,
      }),
    ).toBe('created');
    const handle = client.schedule.getHandle(scheduleId);
    await handle.trigger();

    const run = await waitFor(
      async () =>
        (
          await svc.db.pool.query<{
            started_by: string;
            scope: string;
            accounts_checked: number;
            accounts_corrected: number;
            errors: number;
          }>(
            `SELECT started_by, scope, accounts_checked, accounts_corrected, errors
               FROM reconciliation_runs WHERE provider = 'stripe'`,
          )
        ).rows[0],
      { what: 'the scheduled reconciliation run', timeoutMs: 60_000 },
    );
    expect(run).toEqual({
      started_by: 'schedule',
      scope: 'all',
      accounts_checked: 1,
      accounts_corrected: 1,
      errors: 0,
    });
    await statusBecomes(svc, account, 'canceled');
    expect(await auditRows(svc, account, 'billing.reconciled')).toContainEqual(
      expect.objectContaining({
        from_status: 'active',
        to_status: 'canceled',
        details: expect.objectContaining({ source: 'reconcile' }),
      }),
    );

    const desc = await handle.describe();
    const workflowId = desc.info.recentActions[0]?.action.workflow.workflowId ?? '';
    expect(workflowId).toContain(scheduleId);
    expect(await client.workflow.getHandle(workflowId).result()).toMatchObject({
      accounts_checked: 1,
      accounts_corrected: 1,
      events_recorded: 1,
      errors: [],
    });
  });

  it('when the configured time is unchanged, then the schedule is left alone; when it changes, then the next start moves it', async () => {
    const { client } = svc.running.temporalClient();
    const taskQueue = svc.config.taskQueue;
    const schedule = svc.config.reconcile.schedule as ReconcileSchedule;
    expect(await ensureReconcileSchedule(client, { taskQueue, schedule, scheduleId })).toBe(
      'unchanged',
    );
    const moved: ReconcileSchedule = {
      kind: 'daily',
      hour: 4,
      minute: 5,
      timezone: 'UTC',
      text: '04:05 UTC',
    };
    expect(await ensureReconcileSchedule(client, { taskQueue, schedule: moved, scheduleId })).toBe(
      'updated',
    );
    const desc = await client.schedule.getHandle(scheduleId).describe();
    expect(desc.spec.timezone).toBe('UTC');
    expect(desc.spec.calendars).toEqual([
      expect.objectContaining({
        hour: [{ start: 4, end: 4, step: 1 }],
        minute: [{ start: 5, end: 5, step: 1 }],
      }),
    ]);
    expect(desc.action).toMatchObject({ memo: { reconcile_schedule: '04:05 UTC' } });
  });
});
