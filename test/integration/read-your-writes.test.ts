// SPEC §6 "Read your writes": once a webhook got its 200, the gate and GET /v1/accounts/:id answer
// as if it were applied — with no worker running at all, and with a worker racing the reads —
// and a deadline that passed while its timer could not fire is honoured. The workflow stays the
// only writer: the reads change no row. Real PostgreSQL, real Temporal, signed Stripe payloads.
import type { Running } from '../../src/runtime';
import * as fx from '../fixtures/stripe';
import { type Answer, json, postStripe } from '../helpers/http';
import { nowS, uid } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, startWorkerFor, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/wait';

type Body = Record<string, unknown>;

/** What a host app reads, with its gate token. */
async function read(svc: TestService, path: string): Promise<Body> {
  const r = await json(
    fetch(svc.baseUrl + path, { headers: { authorization: `Bearer ${SECRETS.gate}` } }),
  );
  expect(r.status).toBe(200);
  return r.body;
}

const gate = (svc: TestService, id: string) => read(svc, `/v1/gate/${id}/confirm`);
const account = (svc: TestService, id: string) => read(svc, `/v1/accounts/${id}`);

function stripeIds(accountId: string) {
  return { accountId, customerId: fx.stripeId('cus'), subscriptionId: fx.stripeId('sub') };
}

/** Posts a signed Stripe event; its 200 says it is committed. Returns billing_events.id. */
async function acknowledged(svc: TestService, event: fx.StripeEventJson): Promise<string> {
  const r: Answer = await postStripe(svc.baseUrl, event);
  expect(r.status).toBe(200);
  return String(r.body.event_id);
}

/** The rows the workflow writes, as they stand: the reads must leave them as they were. */
async function written(svc: TestService, accountId: string) {
  const rows = await svc.db.pool.query<{ outcome: string | null }>(
    'SELECT outcome FROM billing_events WHERE account_id = $1 ORDER BY id',
    [accountId],
  );
  const projection = await svc.db.pool.query<{ status: string }>(
    'SELECT status FROM billing_accounts WHERE account_id = $1',
    [accountId],
  );
  return { outcomes: rows.rows.map((r) => r.outcome), status: projection.rows[0]?.status ?? null };
}

describe('with no worker running (--role=api)', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService({ role: 'api' });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when webhooks are acknowledged and nothing applies them, then the gate and the account read answer as if they were applied', async () => {
    const id = uid('acct_ryw');
    const ids = stripeIds(id);
    const t = nowS() - 300;
    expect(await gate(svc, id)).toMatchObject({ allowed: false, reason: 'no_billing_account' });

    const created = fx.subscriptionCreated({ ...ids, created: t });
    const createdId = await acknowledged(svc, created);
    expect(await gate(svc, id)).toMatchObject({
      allowed: true,
      status: 'active',
      reason: 'status:active',
      pending_events_folded: 1,
      as_of_event_id: createdId,
      provenance: { event: created.id, event_id: createdId, pending: true },
    });

    const failed = fx.invoicePaymentFailed({ ...ids, created: t + 60 });
    const failedId = await acknowledged(svc, failed);
    const invoice = (failed.data.object as { id: string }).id;
    const denied = await gate(svc, id);
    expect(denied).toMatchObject({
      allowed: false,
      status: 'past_due',
      reason: 'status:past_due',
      pending_events_folded: 2,
      deadlines_passed: [],
      pending_event_not_folded: null,
      as_of_event_id: failedId,
      provenance: {
        event: failed.id,
        event_id: failedId,
        reason: `payment_failed:${invoice}`,
        invoice,
        pending: true,
      },
    });
    expect(denied.message).toContain(`(${failed.id}, acknowledged, not yet applied)`);
    expect(await account(svc, id)).toMatchObject({
      account_id: id,
      status: 'past_due',
      status_event_id: failedId,
      pending_events_folded: 2,
      last_event: { id: failedId, event_type: 'invoice.payment_failed', pending: 'event' },
      created_at: null,
    });

    await acknowledged(svc, fx.invoicePaid({ ...ids, created: t + 120 }));
    expect(await gate(svc, id)).toMatchObject({
      allowed: true,
      status: 'active',
      pending_events_folded: 3,
    });

    // Nothing was written by the reads: the workflow is the only writer, and it has not run.
    expect(await written(svc, id)).toEqual({ outcomes: [null, null, null], status: null });
  });

  it('when the account read is asked for an account no event names, then 404 as before', async () => {
    const r = await json(
      fetch(`${svc.baseUrl}/v1/accounts/${uid('nobody')}`, {
        headers: { authorization: `Bearer ${SECRETS.gate}` },
      }),
    );
    expect(r).toMatchObject({ status: 404, body: { error: { code: 'account_not_found' } } });
  });

  it('when a cancel time passes while the worker is stopped, then the gate answers canceled and the projection still says canceling', async () => {
    const id = uid('acct_ryw_cancel');
    const ids = stripeIds(id);
    // Far enough ahead for the worker to apply both events before the cancel time, on a busy box.
    const cancelAt = nowS() + 15;
    const worker: Running = await startWorkerFor(svc);
    try {
      await acknowledged(svc, fx.subscriptionCreated({ ...ids, created: nowS() - 20 }));
      await acknowledged(svc, fx.subscriptionUpdated({ ...ids, created: nowS() - 10, cancelAt }));
      await waitFor(
        async () => {
          const w = await written(svc, id);
          return w.status === 'canceling' && w.outcomes.every((o) => o !== null);
        },
        { what: 'the worker to apply the scheduled cancel' },
      );
    } finally {
      await worker.stop();
    }
    const canceling = await gate(svc, id);
    expect(canceling).toMatchObject({ status: 'canceling', pending_events_folded: 0 });
    expect(nowS()).toBeLessThan(cancelAt); // else the worker's own timer may have fired

    const canceled = await waitFor(
      async () => {
        const g = await gate(svc, id);
        return g.status === 'canceled' ? g : undefined;
      },
      { what: 'the cancel time to pass', timeoutMs: 40_000, intervalMs: 250 },
    );
    const due = new Date(cancelAt * 1000).toISOString();
    expect(canceled).toMatchObject({
      allowed: false,
      reason: 'status:canceled',
      pending_events_folded: 0,
      deadlines_passed: [{ timer: 'cancel_at_period_end', due_at: due }],
      provenance: {
        since: due,
        event_id: null,
        reason: 'canceled_at_period_end',
        pending: true,
      },
    });
    expect(canceled.message).toContain('deadline passed; its timer has not fired yet');
    expect(await account(svc, id)).toMatchObject({
      status: 'canceled',
      scheduled_cancel_at: null,
      status_event_id: null,
      deadlines_passed: [{ timer: 'cancel_at_period_end', due_at: due }],
      last_event: { id: null, source: 'timer', occurred_at: due, pending: 'deadline' },
    });
    const w = await written(svc, id);
    expect(w.status).toBe('canceling');
    expect(w.outcomes).toHaveLength(2); // no timer event was stored by the reads
  });
});

describe('with a worker applying the events as they come', () => {
  const ACCOUNTS = 40;
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  /** At concurrency 16, each account's event then, right after its 200, the gate. */
  async function eachThenGate(
    ids: ReturnType<typeof stripeIds>[],
    event: (i: ReturnType<typeof stripeIds>) => fx.StripeEventJson,
    expected: { allowed: boolean; status: string },
  ): Promise<string[]> {
    const stale: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < ids.length; i = next++) {
          const e = ids[i] as ReturnType<typeof stripeIds>;
          await acknowledged(svc, event(e));
          const g = await gate(svc, e.accountId);
          if (g.allowed !== expected.allowed || g.status !== expected.status)
            stale.push(`${e.accountId}: ${String(g.status)} ${String(g.reason)}`);
        }
      }),
    );
    return stale;
  }

  it(`when ${ACCOUNTS} active accounts each get invoice.payment_failed and then invoice.paid at concurrency 16, then no gate answer right after a 200 is from before it`, async () => {
    const t = nowS() - 600;
    const ids = Array.from({ length: ACCOUNTS }, () => stripeIds(uid('acct_burst')));
    await Promise.all(
      ids.map((i) => acknowledged(svc, fx.subscriptionCreated({ ...i, created: t }))),
    );
    await waitFor(
      async () =>
        (await Promise.all(ids.map(async (i) => (await written(svc, i.accountId)).status))).every(
          (s) => s === 'active',
        ),
      { what: 'every account to be active', timeoutMs: 60_000 },
    );

    const afterFailure = await eachThenGate(
      ids,
      (i) => fx.invoicePaymentFailed({ ...i, created: t + 60 }),
      { allowed: false, status: 'past_due' },
    );
    const afterPayment = await eachThenGate(
      ids,
      (i) => fx.invoicePaid({ ...i, created: t + 120 }),
      {
        allowed: true,
        status: 'active',
      },
    );
    expect({ afterFailure, afterPayment }).toEqual({ afterFailure: [], afterPayment: [] });
  });
});
