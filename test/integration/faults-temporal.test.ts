// SPEC §4.5 and §9 "faults", the Temporal side, over HTTP against the real service: Temporal down
// while webhooks arrive, a process dying between commit and signal, Temporal restarting, and an
// account long enough to reach Temporal's history limit. Real PostgreSQL, real Temporal servers of
// the kind the suite runs on (the dev server, or the self-hosted server on PostgreSQL): the
// suite's, a private one that persists its workflows and is stopped and started again, and a
// private one that suggests continue-as-new after 50 history events.
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';

import { insertEvent } from '../../src/db/queries/billing-events';
import { findFreePort } from '../../src/dev/local-stack';
import { normalizeStripeEvent } from '../../src/domain/normalize-stripe';
import { accountWorkflowId } from '../../src/temporal/ids';
import * as fx from '../fixtures/stripe';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { type Answer, json, postStripe } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';
import { type PrivateTemporal, startPrivateTemporal } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

/** A webhook answer is bounded by DELIVERY_WAIT_MS (1.5 s by default), never by Temporal. */
const QUICK_ANSWER_MS = 5000;
/** EventDelivery's per-attempt signal timeout. */
const SIGNAL_TIMEOUT_MS = 5000;

interface EventRow {
  id: string;
  outcome: string | null;
  attempts: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

async function eventRows(pool: pg.Pool, ids: unknown[]): Promise<EventRow[]> {
  const r = await pool.query<EventRow>(
    `SELECT e.id, e.outcome, d.attempts, d.last_error, d.delivered_at
       FROM billing_events e LEFT JOIN event_deliveries d ON d.event_id = e.id
      WHERE e.id = ANY($1::bigint[]) ORDER BY e.id`,
    [ids.map(String)],
  );
  return r.rows;
}

async function allApplied(pool: pg.Pool, ids: unknown[], timeoutMs = 30_000): Promise<EventRow[]> {
  let last: EventRow[] = [];
  try {
    return await waitFor(
      async () => {
        last = await eventRows(pool, ids);
        return last.length === ids.length && last.every((r) => r.outcome === 'applied')
          ? last
          : undefined;
      },
      { timeoutMs, intervalMs: 100, what: `events ${ids.join(', ')} applied` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message} Last seen: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** What the sweeper recorded for the account: the wake-up Temporal accepted. */
async function accountWoken(
  pool: pg.Pool,
  accountId: string,
): Promise<{ accepted_up_to: string; resends: number } | undefined> {
  const r = await pool.query<{ accepted_up_to: string; resends: number }>(
    'SELECT accepted_up_to, resends FROM account_deliveries WHERE account_id = $1',
    [accountId],
  );
  return r.rows[0];
}

/** Every event's signal attempt failed and was recorded; none was delivered or processed. */
async function deliveryAttemptsFailed(pool: pg.Pool, ids: unknown[]): Promise<void> {
  const rows = await waitFor(
    async () => {
      const r = await eventRows(pool, ids);
      return r.every((row) => (row.attempts ?? 0) >= 1 && row.last_error) ? r : undefined;
    },
    { timeoutMs: 20_000, what: 'failed delivery attempts recorded' },
  );
  expect(rows.map((r) => [r.outcome, r.delivered_at])).toEqual(ids.map(() => [null, null]));
}

async function accountStatus(svc: TestService, accountId: string): Promise<string | null> {
  const r = await json(svc.admin(`/v1/accounts/${encodeURIComponent(accountId)}`));
  return r.status === 200 ? (r.body.status as string) : null;
}

async function timedPost(
  svc: TestService,
  event: fx.StripeEventJson,
): Promise<Answer & { ms: number }> {
  const started = Date.now();
  const answer = await postStripe(svc.baseUrl, event);
  return { ...answer, ms: Date.now() - started };
}

/** Posts each account's events in order; the accounts in parallel. */
async function postPerAccount(svc: TestService, perAccount: fx.StripeEventJson[][]) {
  const answers = await Promise.all(
    perAccount.map(async (events) => {
      const out: (Answer & { ms: number })[] = [];
      for (const event of events) out.push(await timedPost(svc, event));
      return out;
    }),
  );
  return answers.flat();
}

function subscriptionParts(accountId: string) {
  return { accountId, customerId: fx.stripeId('cus'), subscriptionId: fx.stripeId('sub') };
}

describe('Temporal down while webhooks arrive', () => {
  let db: TestDatabase;
  let api: TestService | undefined;
  let full: TestService | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await api?.stop();
    await full?.stop();
    await db?.drop();
  });

  it('when nothing listens at TEMPORAL_ADDRESS, then every webhook is answered 200 quickly and stored with outcome NULL, and a full service started later delivers and applies them without a new POST', async () => {
    const deadAddress = `127.0.0.1:${await findFreePort()}`;
    api = await startService({ db, role: 'api', env: { TEMPORAL_ADDRESS: deadAddress } });
    const t = nowS();
    const a = subscriptionParts(faultAccountId('down_a'));
    const b = subscriptionParts(faultAccountId('down_b'));
    const c = subscriptionParts(faultAccountId('down_c'));

    const answers = await postPerAccount(api, [
      [
        fx.subscriptionCreated({ ...a, created: t }),
        fx.invoicePaymentFailed({ ...a, created: t + 10 }),
      ],
      [
        fx.checkoutSessionCompleted({
          ...b,
          accountId: undefined,
          clientReferenceId: b.accountId,
          created: t,
        }),
      ],
      [
        fx.subscriptionCreated({ ...c, created: t }),
        fx.subscriptionUpdated({
          ...c,
          created: t + 10,
          cancelAtPeriodEnd: true,
          currentPeriodEnd: t + 30 * 86_400,
        }),
      ],
    ]);

    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    for (const r of answers) {
      expect(r.ms).toBeLessThan(QUICK_ANSWER_MS);
      expect(r.body).toMatchObject({ received: true, duplicate: false });
      // Never accepted: the first of an account may be `sending` before the relay learns that
      // Temporal is unreachable, the next `waiting_turn` behind it or `queued` after it.
      expect(['sending', 'waiting_turn', 'queued']).toContain(r.body.delivery);
    }
    // Each account's second webhook came after a wait for Temporal had expired: it is answered
    // right after the commit. Compared with the first answer of the same run (which waited
    // DELIVERY_WAIT_MS), not with a wall-clock limit.
    const [aFirstAnswer, aSecond, , cFirstAnswer, cSecond] = answers;
    expect((aSecond?.ms ?? Infinity) / (aFirstAnswer?.ms ?? 1)).toBeLessThan(0.5);
    expect((cSecond?.ms ?? Infinity) / (cFirstAnswer?.ms ?? 1)).toBeLessThan(0.5);
    const ids = answers.map((r) => r.body.event_id);
    expect((await eventRows(db.pool, ids)).map((r) => r.outcome)).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);

    // The first webhook of each account tried Temporal inline and recorded the failure; the
    // others were left to the sweeper straight away.
    const [aFirst, , bFirst, cFirst] = answers;
    await deliveryAttemptsFailed(
      db.pool,
      [aFirst, bFirst, cFirst].map((r) => r?.body.event_id),
    );
    const ready = await json(fetch(`${api.baseUrl}/readyz`));
    expect(ready).toMatchObject({
      status: 503,
      body: { ok: false, postgres: true, temporal: false },
    });
    // Stopping must not wait for a sweep of attempts that each take the full signal timeout.
    const stopping = Date.now();
    await api.stop();
    api = undefined;
    expect(Date.now() - stopping).toBeLessThan(SIGNAL_TIMEOUT_MS * 2);

    // Temporal is back: a full service on the same database, and no new POST.
    full = await startService({ db, role: 'all' });
    await allApplied(db.pool, ids);
    for (const accountId of [a.accountId, b.accountId, c.accountId])
      expect(await accountWoken(db.pool, accountId)).toMatchObject({ resends: 0 });
    expect(await accountStatus(full, a.accountId)).toBe('past_due');
    expect(await accountStatus(full, b.accountId)).toBe('active');
    expect(await accountStatus(full, c.accountId)).toBe('canceling');
  });
});

describe('A process killed between storing and signalling', () => {
  let svc: TestService;

  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when an event is committed but never signalled, then the running service sweeps it to its workflow and it is applied', async () => {
    const accountId = faultAccountId('killed');
    const payload = fx.subscriptionCreated({ ...subscriptionParts(accountId), created: nowS() });
    const normalized = normalizeStripeEvent(payload, { pastDueGraceMs: svc.config.pastDueGraceMs });
    // What the webhook route commits before it signals; the process "dies" right after.
    const { event } = await insertEvent(svc.db.pool, {
      source: normalized.source,
      dedupe_key: normalized.dedupe_key,
      event_type: normalized.event_type,
      account_id: accountId,
      occurred_at: normalized.occurred_at,
      object_key: normalized.object_key,
      payload,
      data: normalized.data,
    });
    expect(event.outcome).toBeNull();

    const [row] = await allApplied(svc.db.pool, [event.id], 20_000);
    // Woken once, by the sweeper: there was no request to deliver it.
    expect(row).toMatchObject({ attempts: null, last_error: null });
    expect(await accountWoken(svc.db.pool, accountId)).toEqual({
      accepted_up_to: event.id,
      resends: 0,
    });
    expect(await accountStatus(svc, accountId)).toBe('active');
    const again = await postStripe(svc.baseUrl, payload);
    expect(again).toMatchObject({ status: 200, body: { duplicate: true, event_id: event.id } });
  });
});

describe('Temporal restarting', () => {
  let temporal: PrivateTemporal | undefined;
  let svc: TestService | undefined;

  beforeAll(async () => {
    temporal = await startPrivateTemporal();
    svc = await startService({
      env: { TEMPORAL_ADDRESS: temporal.address, DELIVERY_WAIT_MS: '1500' },
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await temporal?.stop();
  });

  async function runIdOf(address: string, workflowId: string): Promise<string> {
    const connection = await Connection.connect({ address });
    try {
      const description = await new Client({ connection }).workflow
        .getHandle(workflowId)
        .describe();
      return description.runId;
    } finally {
      await connection.close();
    }
  }

  it('when Temporal stops while webhooks arrive and starts again on the same address and storage, then they are answered 200 and applied without a new POST, on the same workflow run', async () => {
    const server = temporal as PrivateTemporal;
    const service = svc as TestService;
    const t = nowS();
    const known = subscriptionParts(faultAccountId('restart_known'));
    const fresh = subscriptionParts(faultAccountId('restart_new'));
    const created = await postStripe(
      service.baseUrl,
      fx.subscriptionCreated({ ...known, created: t }),
    );
    expect(created.body).toMatchObject({ delivery: 'accepted_by_workflow' });
    await allApplied(service.db.pool, [created.body.event_id]);
    const runBefore = await runIdOf(server.address, accountWorkflowId(known.accountId));

    await server.shutDown();
    const answers = await postPerAccount(service, [
      [fx.invoicePaymentFailed({ ...known, created: t + 10 })],
      [
        fx.checkoutSessionCompleted({
          ...fresh,
          accountId: undefined,
          clientReferenceId: fresh.accountId,
          created: t,
        }),
      ],
    ]);
    expect(answers.map((r) => [r.status, r.body.delivery])).toEqual([
      [200, 'queued'],
      [200, 'queued'],
    ]);
    for (const r of answers) expect(r.ms).toBeLessThan(QUICK_ANSWER_MS);
    const ids = answers.map((r) => r.body.event_id);
    expect((await eventRows(service.db.pool, ids)).map((r) => r.outcome)).toEqual([null, null]);
    // Down longer than a signal attempt: only the sweeper can deliver them now.
    await deliveryAttemptsFailed(service.db.pool, ids);

    await server.restart();
    await allApplied(service.db.pool, ids, 45_000);
    expect(await accountStatus(service, known.accountId)).toBe('past_due');
    expect(await accountStatus(service, fresh.accountId)).toBe('active');
    // The workflow survived in the server's storage: the event went to the run that existed before.
    expect(await runIdOf(server.address, accountWorkflowId(known.accountId))).toBe(runBefore);
  });
});

describe('An account reaching Temporal history limits', () => {
  const HISTORY_SUGGEST_CAN = 50;
  const EVENTS = 40;
  let temporal: PrivateTemporal | undefined;
  let svc: TestService | undefined;
  let connection: Connection | undefined;

  beforeAll(async () => {
    temporal = await startPrivateTemporal({
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': HISTORY_SUGGEST_CAN },
    });
    svc = await startService({ env: { TEMPORAL_ADDRESS: temporal.address } });
    connection = await Connection.connect({ address: temporal.address });
  });
  afterAll(async () => {
    await connection?.close();
    await svc?.stop();
    await temporal?.stop();
  });

  it(`when one account receives ${EVENTS} events and Temporal suggests continue-as-new at ${HISTORY_SUGGEST_CAN} history events, then the workflow continues as new and every event is applied exactly once`, async () => {
    const service = svc as TestService;
    const client = new Client({ connection: connection as Connection });
    const parts = subscriptionParts(faultAccountId('history'));
    const t = nowS();
    const events = [fx.subscriptionCreated({ ...parts, created: t })];
    for (let i = 1; i < EVENTS; i++) {
      const o = { ...parts, created: t + i * 10 };
      events.push(i % 2 === 1 ? fx.invoicePaymentFailed(o) : fx.invoicePaid(o));
    }
    const ids: unknown[] = [];
    // One wake-up per event: each waits for the one before it to be applied (a busy account's
    // events would otherwise ride few wake-ups and make too little history).
    for (const event of events) {
      const r = await postStripe(service.baseUrl, event);
      expect(r.status).toBe(200);
      ids.push(r.body.event_id);
      await allApplied(service.db.pool, [r.body.event_id], 30_000);
    }

    await allApplied(service.db.pool, ids, 60_000);
    // The last event (i = 39) is a payment failure.
    expect(await accountStatus(service, parts.accountId)).toBe('past_due');
    const audit = await service.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM audit_logs WHERE account_id = $1',
      [parts.accountId],
    );
    expect(audit.rows[0]).toEqual({ n: EVENTS, d: EVENTS });

    const workflowId = accountWorkflowId(parts.accountId);
    const runs = await waitFor(
      async () => {
        const list: { runId: string; status: string }[] = [];
        for await (const w of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
          list.push({ runId: w.runId, status: w.status.name });
        }
        return list.length >= 2 ? list : undefined;
      },
      { what: `more than one run of ${workflowId}` },
    );
    const current = await client.workflow.getHandle(workflowId).describe();
    expect(current.status.name).toBe('RUNNING');
    const closed = runs.filter((r) => r.runId !== current.runId);
    expect(closed.length).toBeGreaterThanOrEqual(1);
    expect(new Set(closed.map((r) => r.status))).toEqual(new Set(['CONTINUED_AS_NEW']));
    // One run would hold hundreds of events for 40 signals and activities; each run stays small.
    expect(current.historyLength).toBeLessThan(HISTORY_SUGGEST_CAN * 3);
  });
});
