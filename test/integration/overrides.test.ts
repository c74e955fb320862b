// Emergency gate overrides (SPEC §2, §7) over /v1 and the CLI: set for one account or all, list,
// clear, expiry by the override's durable timer, validation. Audited; real PostgreSQL + Temporal.
import { overrideWorkflowId } from '../../src/temporal/ids';
import {
  anyString,
  auditRows,
  correct,
  gate,
  objectContaining,
  type Row,
} from '../helpers/accounts';
import { runCli } from '../helpers/cli';
import { type Answer, json } from '../helpers/http';
import { uid } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';
import { connectToDevServer, type DevServerClient } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

let svc: TestService;
let temporal: DevServerClient;

beforeAll(async () => {
  svc = await startService();
  temporal = await connectToDevServer();
});
afterAll(async () => {
  await temporal?.close();
  await svc?.stop();
});

/** How the override's timer workflow ended: 'cleared' (signalled) or 'expired' (the timer fired). */
function timerResult(overrideId: string): Promise<unknown> {
  return temporal.client.workflow.getHandle(overrideWorkflowId(overrideId)).result();
}

async function canceledAccount(): Promise<string> {
  const id = uid('acct_canceled');
  expect((await correct(svc, id, { status: 'canceled', reason: 'test setup' })).body).toMatchObject(
    { outcome: 'applied' },
  );
  return id;
}

function setOverride(body: Record<string, unknown>): Promise<Answer> {
  return json(svc.admin('/v1/gate-overrides', { method: 'POST', body: JSON.stringify(body) }));
}

function clearOverride(id: string, body: Record<string, unknown> = {}): Promise<Answer> {
  return json(
    svc.admin(`/v1/gate-overrides/${id}`, { method: 'DELETE', body: JSON.stringify(body) }),
  );
}

async function listOverrideIds(query = ''): Promise<string[]> {
  const r = await json(svc.admin(`/v1/gate-overrides${query}`));
  expect(r.status).toBe(200);
  return (r.body.overrides as { id: string }[]).map((o) => o.id);
}

async function overrideRow(id: string): Promise<Row> {
  return (
    (await svc.db.pool.query<Row>('SELECT * FROM gate_overrides WHERE id = $1::text', [id]))
      .rows[0] ?? {}
  );
}

describe('gate overrides over /v1', () => {
  it('when an override is set for one account, then its confirm is allowed with override:<id>, others stay denied', async () => {
    const target = await canceledAccount();
    const other = await canceledAccount();
    expect(await gate(svc, target, 'confirm')).toMatchObject({
      allowed: false,
      reason: 'status:canceled',
    });

    const r = await setOverride({
      account_id: target,
      reason: 'INC-42: MyASP outage',
      ttl: '1h',
      actor: 'ops:taro',
    });
    expect(r.status).toBe(201);
    const override = r.body.override as Row;
    expect(override).toMatchObject({
      account_id: target,
      actions: ['confirm'],
      reason: 'INC-42: MyASP outage',
      created_by: 'ops:taro',
      cleared_at: null,
    });
    expect(r.body.expiry_timer).toBe('started');

    const d = await gate(svc, target, 'confirm');
    expect(d).toMatchObject({
      allowed: true,
      status: 'canceled',
      reason: `override:${String(override.id)}`,
    });
    expect(d.message).toContain('INC-42: MyASP outage');
    expect(await gate(svc, other, 'confirm')).toMatchObject({
      allowed: false,
      reason: 'status:canceled',
    });

    const audit = await auditRows(svc, target, 'gate.override_set');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_role: 'operator', actor: 'ops:taro', event_id: null });
    expect(audit[0]?.details).toMatchObject({
      override_id: override.id,
      reason: 'INC-42: MyASP outage',
      expires_at: override.expires_at,
    });
  });

  it('when an override is set for all accounts, then every gated confirm is allowed (even without a billing record) until it is cleared', async () => {
    const a = await canceledAccount();
    const nobody = uid('nobody');
    const r = await setOverride({
      reason: 'INC-43: billing projection lagging',
      ttl: '30m',
      actor: 'ops:taro',
    });
    expect(r.status).toBe(201);
    const id = String((r.body.override as Row).id);
    expect(r.body.override).toMatchObject({ account_id: null });
    try {
      expect(await gate(svc, a, 'confirm')).toMatchObject({
        allowed: true,
        reason: `override:${id}`,
      });
      expect(await gate(svc, nobody, 'confirm')).toMatchObject({
        allowed: true,
        reason: `override:${id}`,
        status: null,
      });
      expect(await auditRows(svc, '*', 'gate.override_set')).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            actor_role: 'operator',
            details: objectContaining({ override_id: id }),
          }),
        ]),
      );
    } finally {
      expect((await clearOverride(id, { reason: 'incident over', actor: 'ops:taro' })).status).toBe(
        200,
      );
    }
    expect(await gate(svc, a, 'confirm')).toMatchObject({
      allowed: false,
      reason: 'status:canceled',
    });
    expect(await gate(svc, nobody, 'confirm')).toMatchObject({
      allowed: false,
      reason: 'no_billing_account',
    });
  });

  it('when overrides are listed, then only live ones by default, and ?all=true includes cleared ones; clearing is audited', async () => {
    const account = await canceledAccount();
    const r = await setOverride({
      account_id: account,
      reason: 'INC-44',
      ttl: '2h',
      actor: 'ops:jiro',
    });
    const id = String((r.body.override as Row).id);
    expect(await listOverrideIds()).toContain(id);

    const cleared = await clearOverride(id, { reason: 'fixed upstream', actor: 'ops:jiro' });
    expect(cleared.status).toBe(200);
    expect(cleared.body.override).toMatchObject({
      id,
      cleared_by: 'ops:jiro',
      clear_reason: 'fixed upstream',
      cleared_at: anyString,
    });
    expect(await listOverrideIds()).not.toContain(id);
    expect(await listOverrideIds('?all=true')).toContain(id);
    expect(await gate(svc, account, 'confirm')).toMatchObject({
      allowed: false,
      reason: 'status:canceled',
    });
    expect(await timerResult(id)).toBe('cleared');

    const audit = await auditRows(svc, account, 'gate.override_cleared');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor_role: 'operator',
      actor: 'ops:jiro',
      details: { override_id: id, reason: 'fixed upstream' },
    });

    const again = await clearOverride(id);
    expect(again.status).toBe(404);
    expect(again.body).toEqual({
      error: { code: 'override_not_found', message: anyString },
    });
  });

  it('when an override reaches its expiry, then its durable timer ends it: cleared_by system, audited, gate denies again', async () => {
    const account = await canceledAccount();
    const r = await setOverride({
      account_id: account,
      reason: 'INC-45 short window',
      ttl: '3s',
      actor: 'ops:taro',
    });
    expect(r.body.expiry_timer).toBe('started');
    const id = String((r.body.override as Row).id);
    // A real timer on the dev server must elapse: poll with a deadline, no fixed sleep.
    const ended = await waitFor(
      async () => {
        const row = await overrideRow(id);
        return row.cleared_by === 'system' ? row : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: `override ${id} to expire` },
    );
    expect(ended).toMatchObject({ clear_reason: 'expired' });
    expect(Date.parse(String(ended.cleared_at))).toBeGreaterThanOrEqual(
      Date.parse(String(ended.expires_at)),
    );
    const audit = await auditRows(svc, account, 'gate.override_expired');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor_role: 'system',
      actor: 'timer',
      details: { override_id: id },
    });
    expect(await gate(svc, account, 'confirm')).toMatchObject({
      allowed: false,
      reason: 'status:canceled',
    });
    expect(await listOverrideIds()).not.toContain(id);
    expect(await timerResult(id)).toBe('expired');
  });

  it.each([
    { name: 'the reason is missing', body: { ttl: '1h' }, code: 'invalid_request' },
    { name: 'the reason is blank', body: { reason: '   ', ttl: '1h' }, code: 'missing_reason' },
    {
      name: 'expires_at is in the past',
      body: { reason: 'x', expires_at: new Date(Date.now() - 60_000).toISOString() },
      code: 'invalid_expires_at',
    },
    {
      name: 'expires_at is not a time',
      body: { reason: 'x', expires_at: 'tomorrow' },
      code: 'invalid_expires_at',
    },
    { name: 'neither ttl nor expires_at is given', body: { reason: 'x' }, code: 'invalid_request' },
    {
      name: 'the ttl is not a duration',
      body: { reason: 'x', ttl: 'forever' },
      code: 'invalid_ttl',
    },
  ])('when $name, then 400 $code and nothing is set', async ({ body, code }) => {
    const before = await listOverrideIds('?all=true');
    const r = await setOverride({ account_id: uid('acct'), ...body });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: { code, message: anyString } });
    expect(await listOverrideIds('?all=true')).toEqual(before);
  });
});

describe('gate overrides over the CLI', () => {
  it('when an operator runs gate-override set, list and clear, then the gate follows and both steps are audited', async () => {
    const account = await canceledAccount();
    const set = await runCli(svc, [
      'gate-override',
      'set',
      '--account',
      account,
      '--reason',
      'INC-46 via CLI',
      '--ttl',
      '1h',
      '--actor',
      'ops:cli',
      '--json',
    ]);
    expect({ code: set.code, stderr: set.stderr }).toEqual({ code: 0, stderr: '' });
    const { override, expiry_timer } = JSON.parse(set.stdout) as {
      override: Row;
      expiry_timer: string;
    };
    expect(expiry_timer).toBe('started');
    expect(override).toMatchObject({
      account_id: account,
      actions: ['confirm'],
      created_by: 'ops:cli',
    });
    const id = String(override.id);
    expect(await gate(svc, account, 'confirm')).toMatchObject({
      allowed: true,
      reason: `override:${id}`,
    });

    const list = await runCli(svc, ['gate-override', 'list', '--json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { overrides: Row[] }).overrides.map((o) => o.id)).toContain(
      id,
    );

    const clear = await runCli(svc, [
      'gate-override',
      'clear',
      id,
      '--reason',
      'done',
      '--actor',
      'ops:cli',
      '--json',
    ]);
    expect({ code: clear.code, stderr: clear.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await gate(svc, account, 'confirm')).toMatchObject({
      allowed: false,
      reason: 'status:canceled',
    });
    expect(await auditRows(svc, account, 'gate.override_set')).toEqual([
      expect.objectContaining({ actor_role: 'operator', actor: 'ops:cli' }),
    ]);
    expect(await auditRows(svc, account, 'gate.override_cleared')).toEqual([
      expect.objectContaining({ actor_role: 'operator', actor: 'ops:cli' }),
    ]);
  });
});
