// Throughput without losing the guarantees (SPEC §4.3, §4.5): delivery is keyed by account. One
// wake-up of an account workflow applies every stored event of the account, so a backlog drains
// with about one signal per account, a wake-up Temporal already accepted is not sent again while
// its events are being processed, and every event is applied exactly once. Real PostgreSQL, the
// suite's Temporal dev server, signed webhooks over HTTP.
import type pg from 'pg';

import * as fx from '../fixtures/stripe';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { data, storeEvent } from '../helpers/events';
import { postStripe } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';
import { signalsReceived } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

const ACCOUNTS = 300;
const EVENTS_PER_ACCOUNT = 10;

async function counts(pool: pg.Pool, accountIds: string[]) {
  const r = await pool.query<{ pending: number; processed: number; audits: number }>(
    `SELECT count(*) FILTER (WHERE e.outcome IS NULL)::int AS pending,
            count(*) FILTER (WHERE e.outcome IS NOT NULL)::int AS processed,
            (SELECT count(*)::int FROM audit_logs a WHERE a.account_id = ANY($1::text[])) AS audits
       FROM billing_events e WHERE e.account_id = ANY($1::text[])`,
    [accountIds],
  );
  return r.rows[0] ?? { pending: -1, processed: -1, audits: -1 };
}

describe('A backlog of stored events', () => {
  let db: TestDatabase;
  let svc: TestService | undefined;

  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await svc?.stop();
    svc = undefined;
    await db?.drop();
  });

  it(`when ${ACCOUNTS * EVENTS_PER_ACCOUNT} events of ${ACCOUNTS} accounts wait and the service starts, then the backlog only shrinks, each account is woken about once and never re-sent, and every event is applied exactly once`, async () => {
    const accountIds = Array.from({ length: ACCOUNTS }, (_, i) => faultAccountId(`backlog${i}`));
    const base = Date.now() - 3_600_000;
    for (let k = 0; k < EVENTS_PER_ACCOUNT; k++) {
      await Promise.all(
        accountIds.map((account_id) =>
          storeEvent(
            db.pool,
            k === 0 ? data.started() : k % 2 ? data.paymentFailed() : data.paid(),
            {
              account_id,
              occurred_at: new Date(base + k * 1000).toISOString(),
            },
          ),
        ),
      );
    }
    const total = ACCOUNTS * EVENTS_PER_ACCOUNT;
    expect(await counts(db.pool, accountIds)).toMatchObject({ pending: total, audits: 0 });

    svc = await startService({ db });
    const seen: number[] = [];
    await waitFor(
      async () => {
        const c = await counts(db.pool, accountIds);
        seen.push(c.pending);
        return c.pending === 0;
      },
      { timeoutMs: 240_000, intervalMs: 250, what: 'the backlog drained' },
    );
    for (let i = 1; i < seen.length; i++)
      expect(seen[i]).toBeLessThanOrEqual(seen[i - 1] ?? Infinity);
    expect(await counts(db.pool, accountIds)).toEqual({
      pending: 0,
      processed: total,
      audits: total,
    });
    // The sweeper's bookkeeping: one accepted wake-up per account, none re-sent.
    const deliveries = await db.pool.query<{ n: number; resent: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE resends > 0)::int AS resent
         FROM account_deliveries WHERE account_id = ANY($1::text[])`,
      [accountIds],
    );
    expect(deliveries.rows[0]).toEqual({ n: ACCOUNTS, resent: 0 });
    // And Temporal's side: ten events per account arrived in at most two wake-ups.
    for (const accountId of accountIds.slice(0, 20))
      expect(await signalsReceived(svc, accountId)).toBeLessThanOrEqual(2);
    const statuses = await db.pool.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM billing_accounts
        WHERE account_id = ANY($1::text[]) GROUP BY status`,
      [accountIds],
    );
    expect(statuses.rows).toEqual([{ status: 'past_due', n: ACCOUNTS }]);
  });

  it('when 60 accounts wait and a sweep takes 10 at a time, then the service sweeps at start and takes page after page without waiting out its interval', async () => {
    const accountIds = Array.from({ length: 60 }, (_, i) => faultAccountId(`pages${i}`));
    const base = Date.now() - 3_600_000;
    await Promise.all(
      accountIds.map((account_id) =>
        storeEvent(db.pool, data.started(), {
          account_id,
          occurred_at: new Date(base).toISOString(),
        }),
      ),
    );
    // An interval longer than the test: only the start-up sweep and the pages that follow it run.
    svc = await startService({ db, sweepIntervalMs: 600_000, sweepBatch: 10 });
    await waitFor(async () => (await counts(db.pool, accountIds)).pending === 0, {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'every page of the backlog woken and applied',
    });
    expect(await counts(db.pool, accountIds)).toEqual({ pending: 0, processed: 60, audits: 60 });
  });
});

describe('A burst of signed webhooks', () => {
  let svc: TestService;

  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when 400 webhooks for 20 accounts arrive 16 at a time, then each is answered after its commit and applied exactly once, in arrival order per account', async () => {
    const accounts = Array.from({ length: 20 }, (_, i) => ({
      accountId: faultAccountId(`burst${i}`),
      customerId: fx.stripeId('cus'),
      subscriptionId: fx.stripeId('sub'),
    }));
    const created = nowS() - 1000;
    const jobs = accounts.flatMap((a, i) =>
      Array.from({ length: 20 }, (_, k) =>
        k === 0
          ? fx.subscriptionCreated({ ...a, created: created + i })
          : (k % 2 ? fx.invoicePaymentFailed : fx.invoicePaid)({ ...a, created: created + k * 10 }),
      ),
    );
    const answers: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++];
          if (!job) break;
          const r = await postStripe(svc.baseUrl, job);
          expect(r.body).toMatchObject({ received: true, duplicate: false });
          answers.push(r.status);
        }
      }),
    );
    expect(answers.filter((s) => s === 200)).toHaveLength(jobs.length);
    const ids = accounts.map((a) => a.accountId);
    await waitFor(async () => (await counts(svc.db.pool, ids)).pending === 0, {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: 'every webhook applied',
    });
    expect(await counts(svc.db.pool, ids)).toEqual({
      pending: 0,
      processed: jobs.length,
      audits: jobs.length,
    });
    const order = await svc.db.pool.query<{ ok: boolean }>(
      `SELECT bool_and(in_order) AS ok FROM (
         SELECT processed_seq > lag(processed_seq, 1, 0::bigint) OVER (PARTITION BY account_id ORDER BY id)
                  AS in_order
           FROM billing_events WHERE account_id = ANY($1::text[])) s`,
      [ids],
    );
    expect(order.rows[0]).toEqual({ ok: true });
  });
});
