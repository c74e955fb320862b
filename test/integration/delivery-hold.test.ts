// Fewer wake-ups for a busy account (SPEC §4.5): once Temporal accepted an account's wake-up, the
// relay holds the account until the apply transaction says (a PostgreSQL notification) that its
// events are applied; events arriving meanwhile ride one later wake-up instead of one signal
// each. A hold never strands an event: it ends when the batch commits, or after `holdMs`. Real
// PostgreSQL, the suite's Temporal dev server, an API without a worker (so nothing is applied
// until the test starts one), signed webhooks over HTTP.
import { randomBytes } from 'node:crypto';

import pg from 'pg';
import pino from 'pino';

import { createApplyPendingEventsActivity } from '../../activities/apply-pending-events';
import { APPLIED_EVENTS_CHANNEL } from '../../src/delivery/applied-events-channel';
import * as fx from '../fixtures/stripe';
import { held, released, sweptAfter, watchDelivery } from '../helpers/delivery-events';
import { type Answer, postStripe } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';
import { signalsReceived } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

/** Posts n invoices of the account; the answers' `delivery`. */
async function postInvoices(svc: TestService, accountId: string, n: number): Promise<string[]> {
  const customerId = fx.stripeId('cus');
  const subscriptionId = fx.stripeId('sub');
  const answers: Answer[] = [];
  for (let i = 0; i < n; i++) {
    const make = i % 2 ? fx.invoicePaymentFailed : fx.invoicePaid;
    answers.push(
      await postStripe(
        svc.baseUrl,
        make({ accountId, customerId, subscriptionId, created: nowS() + i }),
      ),
    );
  }
  expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
  return answers.map((a) => String(a.body.delivery));
}

/** The test services' sweeper lists events this much older than a sweep's start (service.ts). */
const SWEEP_MIN_AGE_MS = 200;

async function outcomes(svc: TestService, accountId: string) {
  const r = await svc.db.pool.query<{ events: number; pending: number; audits: number }>(
    `SELECT count(*)::int AS events,
            count(*) FILTER (WHERE outcome IS NULL)::int AS pending,
            (SELECT count(*)::int FROM audit_logs a WHERE a.account_id = $1::text) AS audits
       FROM billing_events WHERE account_id = $1::text`,
    [accountId],
  );
  return r.rows[0];
}

/** Wake-ups Temporal accepted for the account (0 before its workflow exists). */
const signals = (svc: TestService, accountId: string) =>
  signalsReceived(svc, accountId, { noWorkflowIsZero: true });

async function waitForSignals(
  svc: TestService,
  accountId: string,
  enough: (n: number) => boolean,
  what: string,
): Promise<void> {
  await waitFor(async () => enough(await signals(svc, accountId)), { timeoutMs: 20_000, what });
}

describe('The relay holding a busy account', () => {
  const started: TestService[] = [];
  afterAll(async () => {
    for (const s of started.reverse()) await s.stop();
  });

  it('when events arrive while the account’s accepted wake-up is not yet applied, then they send no signal of their own, and one later wake-up follows once the batch commits; every event is applied once', async () => {
    const queue = `billing-test-hold-${randomBytes(4).toString('hex')}`;
    // A hold far longer than the test, so only the apply notification can end it.
    const api = await startService({
      role: 'api',
      deliveryHoldMs: 120_000,
      env: { TEMPORAL_TASK_QUEUE: queue },
    });
    started.push(api);
    const watch = watchDelivery(api);
    const accountId = faultAccountId('hold');

    expect(await postInvoices(api, accountId, 1)).toEqual(['sending']);
    await watch.find(held(accountId), 'the first wake-up accepted and held');
    // Nothing applies the account yet (no worker): its wake-up stays accepted and held, and the
    // answers say the events wait behind it — not that Temporal is down.
    expect(await postInvoices(api, accountId, 9)).toEqual(Array(9).fill('waiting_turn'));
    // A sweep that could list the nine left them to the relay, which sent nothing of its own.
    await watch.find(sweptAfter(Date.now(), SWEEP_MIN_AGE_MS), 'a sweep listing the nine');
    expect(watch.accepted(accountId)).toBe(1);
    expect(await signals(api, accountId)).toBe(1);

    const worker = await startService({
      role: 'worker',
      db: api.db,
      env: { TEMPORAL_TASK_QUEUE: queue },
    });
    started.push(worker);
    await waitFor(async () => (await outcomes(api, accountId))?.pending === 0, {
      timeoutMs: 60_000,
      what: 'every event applied',
    });
    // The batch the first wake-up started took all ten; one more wake-up followed it, for the
    // requests held back, and once it was released the relay had nothing left for the account.
    const trail = () => watch.seen.filter((e) => 'account_id' in e && e.account_id === accountId);
    await waitFor(
      () => Promise.resolve(watch.accepted(accountId) >= 2 && trail().at(-1)?.type === 'released'),
      { timeoutMs: 20_000, what: 'the held events’ own wake-up accepted and released' },
    );
    expect(watch.accepted(accountId)).toBe(2);
    // Temporal buffers a signal that arrives while a workflow task is running and writes it to
    // the history when that task completes, so the history may show it a little after the
    // relay's accept.
    await waitForSignals(api, accountId, (n) => n >= 2, 'the second wake-up in the history');
    expect(await signals(api, accountId)).toBe(2);
    expect(await outcomes(api, accountId)).toEqual({ events: 10, pending: 0, audits: 10 });
  });

  it('when no batch commits within the hold, then the next event gets its own wake-up', async () => {
    const api = await startService({
      role: 'api',
      deliveryHoldMs: 400,
      env: { TEMPORAL_TASK_QUEUE: `billing-test-hold-${randomBytes(4).toString('hex')}` },
    });
    started.push(api);
    const watch = watchDelivery(api);
    const accountId = faultAccountId('hold_expires');

    await postInvoices(api, accountId, 1);
    await watch.find(held(accountId), 'the first wake-up accepted and held');
    await watch.find(released(accountId, 'hold_timeout'), 'the hold ended by its timeout');
    expect(await postInvoices(api, accountId, 1)).toEqual(['sending']);
    await waitForSignals(api, accountId, (n) => n === 2, 'a second wake-up after the hold ended');
  });

  it("when more accounts have events than wake-ups may be in flight, then first wake-ups go up to twice the bound and busy accounts' up to the bound, the rest follow as batches commit, and every event is applied once", async () => {
    const queue = `billing-test-hold-${randomBytes(4).toString('hex')}`;
    const api = await startService({
      role: 'api',
      deliveryHoldMs: 120_000,
      env: { TEMPORAL_TASK_QUEUE: queue, DELIVERY_MAX_IN_FLIGHT: '2' },
    });
    started.push(api);
    const watch = watchDelivery(api);
    const accounts = [1, 2, 3, 4, 5, 6].map((i) => faultAccountId(`cap${i}`));
    const postEach = async () => {
      const answers: string[] = [];
      for (const accountId of accounts) answers.push(...(await postInvoices(api, accountId, 1)));
      return answers;
    };
    /** A sweep that could list what was just posted: it left the waiting accounts to the relay. */
    const sweptSince = (since: number) =>
      watch.find(sweptAfter(since, SWEEP_MIN_AGE_MS), 'a sweep listing the waiting accounts');
    const counts = () => Promise.all(accounts.map((a) => signals(api, a)));
    /** Accounts with more accepted wake-ups than `before` (by default: with any). */
    const signalled = async (before: number[] = []) =>
      (await counts()).filter((n, i) => n > (before[i] ?? 0)).length;
    const applied = async (events: number) => {
      for (const accountId of accounts)
        await waitFor(async () => (await outcomes(api, accountId))?.pending === 0, {
          timeoutMs: 60_000,
          what: `every event of ${accountId} applied`,
        });
      for (const accountId of accounts) {
        expect(await outcomes(api, accountId)).toEqual({ events, pending: 0, audits: events });
        expect(await signalsReceived(api, accountId)).toBe(events);
      }
    };
    const worker = () =>
      startService({ role: 'worker', db: api.db, env: { TEMPORAL_TASK_QUEUE: queue } });

    // No account was woken in the last minute: their first wake-ups go while fewer than 4 are out.
    expect(await postEach()).toEqual([
      ...Array(4).fill('sending'),
      ...Array(2).fill('waiting_turn'),
    ]);
    await waitFor(async () => (await signalled()) === 4, {
      timeoutMs: 20_000,
      what: 'the first four wake-ups accepted',
    });
    // Nothing applies them (no worker): all four stay in flight, and the other two wait their turn,
    // also through a sweep (it leaves accounts the relay has in hand).
    await sweptSince(Date.now());
    expect(await signalled()).toBe(4);
    const first = await worker();
    await applied(1);
    await first.stop();

    // Each account was woken a moment ago: now only 2 wake-ups may be out at once.
    const before = await counts();
    expect(await postEach()).toEqual([
      ...Array(2).fill('sending'),
      ...Array(4).fill('waiting_turn'),
    ]);
    await waitFor(async () => (await signalled(before)) === 2, {
      timeoutMs: 20_000,
      what: 'two wake-ups of busy accounts accepted',
    });
    await sweptSince(Date.now());
    expect(await signalled(before)).toBe(2);
    started.push(await worker());
    await applied(2);
  });

  it('when a wake-up finds nothing pending (an earlier batch took its events), then the apply still notifies, so no hold waits out its timeout', async () => {
    const api = await startService({
      role: 'api',
      env: { TEMPORAL_TASK_QUEUE: `billing-test-hold-${randomBytes(4).toString('hex')}` },
    });
    started.push(api);
    const accountId = faultAccountId('hold_empty');
    await postInvoices(api, accountId, 2);
    const listener = new pg.Client({ connectionString: api.db.databaseUrl });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (m) => heard.push(m.payload ?? ''));
    await listener.query(`LISTEN ${APPLIED_EVENTS_CHANNEL}`);
    try {
      const apply = createApplyPendingEventsActivity({
        pool: api.db.pool,
        logger: pino({ level: 'silent' }),
      });
      const first = await apply({ account_id: accountId });
      expect(first.applied).toHaveLength(2);
      const second = await apply({ account_id: accountId, state: first.state });
      expect(second.applied).toHaveLength(0);
      const lastId = first.applied[1]?.event_id;
      await waitFor(() => Promise.resolve(heard.length === 2), {
        timeoutMs: 10_000,
        what: 'a notification from each apply',
      });
      expect(heard).toEqual([`${lastId}:${accountId}`, `${lastId}:${accountId}`]);
    } finally {
      await listener.end();
    }
  });
});
