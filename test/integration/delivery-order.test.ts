// Per-account order across a crash: an event committed by a process that died before signalling
// it must reach its workflow before any later event of the same account, whether the provider
// resends it (a duplicate POST) or sends the account's next event first. The sweeper is slowed
// down here so it cannot hide a slip; real PostgreSQL, real Temporal, signed webhooks over HTTP.
import * as fx from '../fixtures/stripe';
import { storeStripePayload } from '../helpers/events';
import { postStripe } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/wait';

/** What the webhook route commits before it signals; the process "dies" right after. */
function committedButNeverSignalled(
  svc: TestService,
  accountId: string,
  payload: fx.StripeEventJson,
) {
  return storeStripePayload(svc.db.pool, accountId, payload, svc.config.pastDueGraceMs);
}

async function outcomes(svc: TestService, ids: string[]) {
  return waitFor(
    async () => {
      const r = await svc.db.pool.query<{ id: string; outcome: string | null; seq: string }>(
        `SELECT id::text, outcome, processed_seq::text AS seq FROM billing_events
          WHERE id = ANY($1::bigint[]) ORDER BY id`,
        [ids],
      );
      return r.rows.every((row) => row.outcome !== null) && r.rows.length === ids.length
        ? r.rows
        : undefined;
    },
    { timeoutMs: 30_000, what: `events ${ids.join(', ')} processed` },
  );
}

describe('per-account order when a process died between commit and signal', () => {
  let svc: TestService;

  beforeAll(async () => {
    // The sweeper would deliver the orphaned event only after ten minutes.
    svc = await startService({ sweepMinAgeMs: 600_000, sweepIntervalMs: 600_000 });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  const parts = () => ({
    accountId: faultAccountId('order'),
    customerId: fx.stripeId('cus'),
    subscriptionId: fx.stripeId('sub'),
  });

  it("when the account's next event arrives first, then the orphaned earlier event is applied before it, not found stale after it", async () => {
    const p = parts();
    const t = nowS() - 60;
    const created = await postStripe(svc.baseUrl, fx.subscriptionCreated({ ...p, created: t }));
    expect(created.status).toBe(200);
    const orphan = await committedButNeverSignalled(
      svc,
      p.accountId,
      fx.subscriptionUpdated({ ...p, created: t + 1, cancelAtPeriodEnd: true }),
    );
    const next = await postStripe(svc.baseUrl, fx.subscriptionUpdated({ ...p, created: t + 2 }));
    expect(next.status).toBe(200);
    const rows = await outcomes(svc, [orphan.id, String(next.body.event_id)]);
    expect(rows.map((r) => r.outcome)).toEqual(['applied', 'applied']);
    expect(Number(rows[0]?.seq)).toBeLessThan(Number(rows[1]?.seq));
  });

  it('when the provider resends the orphaned event, then the resend delivers it at once', async () => {
    const p = parts();
    const payload = fx.subscriptionCreated({ ...p, created: nowS() });
    const orphan = await committedButNeverSignalled(svc, p.accountId, payload);
    const again = await postStripe(svc.baseUrl, payload);
    // Answered right after the commit; the wake-up it sends is what applies the orphan (the
    // sweeper here would take ten minutes).
    expect(again).toMatchObject({
      status: 200,
      body: { duplicate: true, event_id: orphan.id, outcome: null },
    });
    const rows = await outcomes(svc, [orphan.id]);
    expect(rows[0]?.outcome).toBe('applied');
  });
});
