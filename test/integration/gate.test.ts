// The entitlement gate over HTTP (SPEC §2): the default policy for every status, GATED_ACTIONS,
// unknown accounts, provenance, the counters, the dunning grace and its durable timer; and manual
// corrections as events (SPEC §4.2), over /v1 and the CLI. Real PostgreSQL, real Temporal.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ConfigError, loadConfig } from '../../src/config';
import { type Status, STATUSES } from '../../src/domain/types';
import * as fx from '../fixtures/stripe';
import {
  anyString,
  auditRows,
  correct,
  counters,
  gate,
  getAccount,
  register,
  type Row,
  statusBecomes,
  stringMatching,
} from '../helpers/accounts';
import { runCli, runTsx } from '../helpers/cli';
import { postStripe } from '../helpers/http';
import { nowS, uid } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/wait';

/** Stripe: subscription created, then invoice.payment_failed at `created`; returns the failing event's id. */
async function stripePastDue(s: TestService, accountId: string, created = nowS()) {
  const base = { accountId, customerId: fx.stripeId('cus'), subscriptionId: fx.stripeId('sub') };
  expect(
    (await postStripe(s.baseUrl, fx.subscriptionCreated({ ...base, created: created - 10 })))
      .status,
  ).toBe(200);
  await statusBecomes(s, accountId, 'active');
  const failed = fx.invoicePaymentFailed({ ...base, created });
  expect((await postStripe(s.baseUrl, failed)).status).toBe(200);
  const account = await statusBecomes(s, accountId, 'past_due');
  return { base, eventId: failed.id, invoiceId: failed.data.object.id as string, account };
}

/**
 * An account in `status`, reached through a manual correction (itself an event); a trial status
 * holds only in a trial (SPEC §3 rule 6), so those accounts are registered with one first.
 */
async function accountIn(s: TestService, status: Status): Promise<string> {
  const id = uid(`acct_${status}`);
  if (status === 'free' || status === 'early_payment') {
    expect((await register(s, { account_id: id, trial_days: 14 })).status).toBe(201);
  }
  const extra =
    status === 'canceling'
      ? { scheduled_cancel_at: new Date(Date.now() + 30 * 86_400_000).toISOString() }
      : {};
  const r = await correct(s, id, { status, reason: 'test setup', actor: 'test', ...extra });
  expect(r.body).toMatchObject({ outcome: 'applied', account: { status } });
  return id;
}

const CONFIRM_ALLOWED: Record<Status, boolean> = {
  free: true,
  early_payment: true,
  active: true,
  canceling: true,
  past_due: false,
  stopped: false,
  canceled: false,
};

describe('the default policy (GATED_ACTIONS unset: confirm only)', () => {
  let svc: TestService;
  const accounts = {} as Record<Status, string>;

  beforeAll(async () => {
    svc = await startService();
    for (const status of STATUSES) accounts[status] = await accountIn(svc, status);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it.each(STATUSES.map((status) => ({ status, allowed: CONFIRM_ALLOWED[status] })))(
    'when the account is $status, then confirm allowed=$allowed with reason status:$status',
    async ({ status, allowed }) => {
      const d = await gate(svc, accounts[status], 'confirm');
      expect(d).toMatchObject({ allowed, status, reason: `status:${status}`, action: 'confirm' });
      expect(d.message).toMatch(new RegExp(`^${status}( by |: ).* since `));
      expect(d.provenance).toMatchObject({
        status,
        since: anyString,
        event: anyString,
      });
    },
  );

  it.each(
    STATUSES.flatMap((status) =>
      ['propose', 'vote', 'export'].map((action) => ({ status, action })),
    ),
  )(
    'when the account is $status, then $action is allowed (not_gated)',
    async ({ status, action }) => {
      const d = await gate(svc, accounts[status], action);
      expect(d).toMatchObject({ allowed: true, status, reason: 'not_gated' });
      expect(d.message).toContain(`${action} is never gated`);
    },
  );

  it('when the account has no billing record, then confirm is denied with no_billing_account, propose is not', async () => {
    const id = uid('nobody');
    expect(await gate(svc, id, 'confirm')).toMatchObject({
      allowed: false,
      status: null,
      reason: 'no_billing_account',
      provenance: null,
    });
    expect((await gate(svc, id, 'confirm')).message).toContain(`${id} has no billing account`);
    expect(await gate(svc, id, 'propose')).toMatchObject({ allowed: true, reason: 'not_gated' });
    expect(await gate(svc, id, 'vote')).toMatchObject({ allowed: true, reason: 'not_gated' });
  });

  it('when a Stripe payment failed, then the denial names the subscription, the invoice, the time and evt_…', async () => {
    const id = uid('acct_pd');
    const created = nowS() - 60;
    const { eventId, invoiceId } = await stripePastDue(svc, id, created);
    const since = new Date(created * 1000).toISOString();
    const d = await gate(svc, id, 'confirm');
    expect(d).toMatchObject({ allowed: false, status: 'past_due', reason: 'status:past_due' });
    expect(d.provenance).toMatchObject({
      status: 'past_due',
      since,
      event: eventId,
      grace_until: null,
      reason: `payment_failed:${invoiceId}`,
      invoice: invoiceId,
    });
    const object = (d.provenance as { object: string }).object;
    expect(object).toMatch(/^stripe:sub_/);
    expect(d.message).toContain(
      `past_due: ${object} payment failed (invoice ${invoiceId}) since ${since} (${eventId})`,
    );
    expect(eventId).toMatch(/^evt_/);
  });

  it('when the gate is asked, then confirm_total, confirm_rejected and propose_total grow by exactly the calls made', async () => {
    const names = ['confirm_total', 'confirm_rejected', 'propose_total'] as const;
    const before = await counters(svc, names);
    const calls: [string, string][] = [
      [accounts.active, 'confirm'],
      [accounts.free, 'confirm'],
      [accounts.canceling, 'confirm'],
      [accounts.stopped, 'confirm'],
      [accounts.canceled, 'confirm'],
      [uid('nobody'), 'confirm'],
      [accounts.stopped, 'propose'],
      [accounts.active, 'propose'],
      [accounts.canceled, 'vote'],
      [accounts.active, 'export'],
    ];
    for (const [id, action] of calls) await gate(svc, id, action);
    const after = await counters(svc, names);
    expect({
      confirm_total: after.confirm_total - before.confirm_total,
      confirm_rejected: after.confirm_rejected - before.confirm_rejected,
      propose_total: after.propose_total - before.propose_total,
    }).toEqual({ confirm_total: 6, confirm_rejected: 3, propose_total: 2 });
  });

  it('when Temporal is unreachable, then the gate still answers from the projection, quickly', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const deadAddress = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
    probe.close();
    const api = await startService({
      db: svc.db,
      role: 'api',
      env: { TEMPORAL_ADDRESS: deadAddress },
    });
    try {
      const started = Date.now();
      expect(await gate(api, accounts.past_due, 'confirm')).toMatchObject({
        allowed: false,
        reason: 'status:past_due',
      });
      expect(await gate(api, accounts.active, 'confirm')).toMatchObject({
        allowed: true,
        reason: 'status:active',
      });
      expect(await gate(api, accounts.canceled, 'propose')).toMatchObject({
        allowed: true,
        reason: 'not_gated',
      });
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await api.stop();
    }
  });

  describe('manual corrections are events', () => {
    it('when an operator corrects an account over /v1, then a manual event is applied by the workflow and audited', async () => {
      const id = accounts.canceled;
      const r = await correct(svc, id, {
        status: 'active',
        reason: 'paid by bank transfer',
        actor: 'ops:hanako',
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        account_id: id,
        outcome: 'applied',
        pending: false,
        account: { status: 'active' },
      });
      const eventId = String(r.body.event_id);
      const event = (
        await svc.db.pool.query<Row>('SELECT * FROM billing_events WHERE id = $1::bigint', [
          eventId,
        ])
      ).rows[0];
      expect(event).toMatchObject({
        source: 'manual',
        event_type: 'manual.correction',
        account_id: id,
        outcome: 'applied',
      });
      expect(event?.payload).toMatchObject({
        status: 'active',
        reason: 'paid by bank transfer',
        actor: 'ops:hanako',
      });
      const audit = (await auditRows(svc, id, 'billing.manual_correction')).find(
        (a) => a.event_id === eventId,
      );
      expect(audit).toMatchObject({
        actor_role: 'operator',
        actor: 'ops:hanako',
        from_status: 'canceled',
        to_status: 'active',
      });
      expect(audit?.details).toMatchObject({ reason: 'paid by bank transfer', source: 'manual' });
      expect(await getAccount(svc, id)).toMatchObject({
        status: 'active',
        last_event_id: eventId,
        status_event_id: eventId,
      });
      expect(await gate(svc, id, 'confirm')).toMatchObject({
        allowed: true,
        reason: 'status:active',
      });
    });

    it.each([
      {
        name: 'the status is not a status',
        body: { status: 'paused', reason: 'x' },
        code: 'invalid_status',
      },
      { name: 'the reason is missing', body: { status: 'active' }, code: 'invalid_request' },
      {
        name: 'canceling has no scheduled_cancel_at',
        body: { status: 'canceling', reason: 'x' },
        code: 'missing_scheduled_cancel_at',
      },
    ])('when $name, then 400 $code and nothing is stored', async ({ body, code }) => {
      const id = uid('acct_bad_fix');
      const r = await correct(svc, id, body);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: { code, message: anyString } });
      expect(
        (await svc.db.pool.query('SELECT 1 FROM billing_events WHERE account_id = $1::text', [id]))
          .rowCount,
      ).toBe(0);
    });

    it('when an operator runs `ops correct <account> <status> --reason`, then the same manual event is applied', async () => {
      const id = accounts.stopped;
      const cli = await runCli(svc, [
        'correct',
        id,
        'active',
        '--reason',
        'MyASP status lost in transit',
        '--actor',
        'ops:cli',
        '--json',
      ]);
      expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 0, stderr: '' });
      const out = JSON.parse(cli.stdout) as Row;
      expect(out).toMatchObject({
        account_id: id,
        outcome: 'applied',
        pending: false,
        account: { status: 'active' },
      });
      const audit = (await auditRows(svc, id, 'billing.manual_correction')).find(
        (a) => a.event_id === out.event_id,
      );
      expect(audit).toMatchObject({
        actor_role: 'operator',
        actor: 'ops:cli',
        from_status: 'stopped',
        to_status: 'active',
      });
      expect(await getAccount(svc, id)).toMatchObject({
        status: 'active',
        last_event_id: out.event_id,
        last_event: { source: 'manual' },
      });
    });
  });
});

describe('GATED_ACTIONS=confirm,export and PAST_DUE_GRACE=3d', () => {
  let svc: TestService;

  beforeAll(async () => {
    svc = await startService({ env: { GATED_ACTIONS: 'confirm,export', PAST_DUE_GRACE: '3d' } });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when export is configured as gated, then it is denied like confirm, and propose/vote still are not', async () => {
    const stopped = await accountIn(svc, 'stopped');
    const active = await accountIn(svc, 'active');
    expect(await gate(svc, stopped, 'export')).toMatchObject({
      allowed: false,
      reason: 'status:stopped',
    });
    expect(await gate(svc, active, 'export')).toMatchObject({
      allowed: true,
      reason: 'status:active',
    });
    expect(await gate(svc, uid('nobody'), 'export')).toMatchObject({
      allowed: false,
      reason: 'no_billing_account',
    });
    for (const action of ['propose', 'vote', 'download']) {
      expect(await gate(svc, stopped, action)).toMatchObject({
        allowed: true,
        reason: 'not_gated',
      });
    }
  });

  it('when a payment fails, then confirm is allowed until the grace ends, and invoice.paid clears the grace', async () => {
    const id = uid('acct_grace');
    const created = nowS();
    const { base, account } = await stripePastDue(svc, id, created);
    const graceUntil = new Date((created + 3 * 86_400) * 1000).toISOString();
    expect(account.grace_until).toBe(graceUntil);
    const d = await gate(svc, id, 'confirm');
    expect(d).toMatchObject({ allowed: true, status: 'past_due', reason: `grace:${graceUntil}` });
    expect(d.message).toContain(`grace until ${graceUntil}`);
    expect(d.provenance).toMatchObject({ status: 'past_due', grace_until: graceUntil });

    expect(
      (await postStripe(svc.baseUrl, fx.invoicePaid({ ...base, created: created + 5 }))).status,
    ).toBe(200);
    const paid = await statusBecomes(svc, id, 'active');
    expect(paid.grace_until).toBeNull();
    expect(await gate(svc, id, 'confirm')).toMatchObject({
      allowed: true,
      reason: 'status:active',
    });
  });
});

describe('PAST_DUE_GRACE=3s: the grace-end durable timer', () => {
  let svc: TestService;

  beforeAll(async () => {
    svc = await startService({ env: { PAST_DUE_GRACE: '3s' } });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when the grace period passes, then the account workflow timer ends it: audited, grace_until null, confirm denied', async () => {
    const id = uid('acct_grace_end');
    const created = nowS();
    const { account } = await stripePastDue(svc, id, created);
    const graceUntil = new Date((created + 3) * 1000).toISOString();
    expect(account.grace_until).toBe(graceUntil);
    // A real timer on the dev server must elapse: poll with a deadline, no fixed sleep.
    const ended = await waitFor(
      async () => {
        const rows = await auditRows(svc, id, 'billing.grace_ended');
        return rows.length > 0 ? rows : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the grace_end timer to fire' },
    );
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({
      actor_role: 'system',
      from_status: 'past_due',
      to_status: 'past_due',
    });
    const timerEvent = (
      await svc.db.pool.query<Row>('SELECT * FROM billing_events WHERE id = $1::bigint', [
        ended[0]?.event_id,
      ])
    ).rows[0];
    expect(timerEvent).toMatchObject({ source: 'timer', outcome: 'applied' });
    expect(timerEvent?.data).toMatchObject({
      kind: 'timer.fired',
      timer: 'grace_end',
      due_at: graceUntil,
    });
    expect(Date.parse(String(timerEvent?.received_at))).toBeGreaterThanOrEqual(
      Date.parse(graceUntil),
    );
    expect(await getAccount(svc, id)).toMatchObject({
      status: 'past_due',
      grace_until: null,
      last_event_id: ended[0]?.event_id,
    });
    expect(await gate(svc, id, 'confirm')).toMatchObject({
      allowed: false,
      status: 'past_due',
      reason: 'status:past_due',
    });
  });
});

describe('GATED_ACTIONS naming propose or vote is refused at start-up', () => {
  const env = {
    DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    ADMIN_TOKEN: SECRETS.admin,
    MYASP_TOKEN: SECRETS.myasp,
  };

  it.each(['confirm,propose', 'vote', 'confirm, vote ,export'])(
    'when GATED_ACTIONS=%s, then loadConfig throws a one-line ConfigError',
    (gated) => {
      let error: unknown;
      try {
        loadConfig({ ...env, GATED_ACTIONS: gated });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(
        /^GATED_ACTIONS lists (propose|vote)[^\n]*never gated/,
      );
    },
  );

  it('when the service is started with GATED_ACTIONS=confirm,propose, then it exits 1 with that one line', async () => {
    const result = await runTsx('src/main.ts', [], { ...env, GATED_ACTIONS: 'confirm,propose' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      stringMatching(/^billing: GATED_ACTIONS lists propose\b.*never gated/),
    ]);
  });
});
