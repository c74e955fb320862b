// The daily check judges as the operations checklist does (異常な状態), over the real data path:
// MyASP forms and Stripe webhooks posted to the running service, applied by the account
// workflows on the suite's Temporal server, then GET /v1/ops/daily-check and the CLI read it.
import * as fx from '../fixtures/stripe';
import { myaspForm, type Row, statusBecomes } from '../helpers/accounts';
import { runCli } from '../helpers/cli';
import { json, postMyasp, postStripe } from '../helpers/http';
import { uid } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';

let svc: TestService;

beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});

interface Item {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  value: Row;
  message: string;
}

async function dailyCheck(query = ''): Promise<{ status: string; items: Item[] }> {
  const r = await json(svc.admin(`/v1/ops/daily-check${query}`));
  expect(r.status).toBe(200);
  return r.body as unknown as { status: string; items: Item[] };
}

const itemOf = (r: { items: Item[] }, name: string): Item => {
  const found = r.items.find((i) => i.name === name);
  if (!found) throw new Error(`the daily check has no item ${name}`);
  return found;
};

const prefix = uid('m', '-');
const users = Array.from({ length: 10 }, (_, i) => `${prefix}-${i}`);
let clock = Date.now() - 30 * 60_000;
const ts = () => new Date((clock += 1000)).toISOString();

async function myaspStatus(user: string, status: 1 | 2 | 3 | 4, expected: string) {
  const r = await postMyasp(
    svc.baseUrl,
    myaspForm({ user_id: user, status, plan: 'standard', amount: 1980, ts: ts() }),
  );
  expect(r.status).toBe(200);
  await statusBecomes(svc, `myasp:${user}`, expected);
  return r.body;
}

describe('daily check judgement', () => {
  it('when nothing has arrived today, then events_today warns and the gate probe asks about an unknown account', async () => {
    const r = await dailyCheck();
    expect(itemOf(r, 'events_today')).toMatchObject({ status: 'warn', value: { total: 0 } });
    expect(itemOf(r, 'gate_probe')).toMatchObject({
      status: 'ok',
      value: {
        status: null,
        confirm: { allowed: false, reason: 'no_billing_account' },
        propose: { allowed: true },
      },
    });
  });

  it('when ten members register, then the distribution is within the thresholds and nobody stopped', async () => {
    for (const u of users) await myaspStatus(u, 1, 'active');
    const r = await dailyCheck();
    expect(itemOf(r, 'events_today')).toMatchObject({ status: 'ok', value: { total: 10 } });
    expect(itemOf(r, 'status_distribution')).toMatchObject({
      status: 'ok',
      value: { total: 10, by_status: { active: 10 } },
    });
    expect(itemOf(r, 'mass_stop')).toMatchObject({ status: 'ok', value: { accounts_moved: 0 } });
    expect(itemOf(r, 'recent_stops')).toMatchObject({ status: 'ok', value: { count: 0 } });
    expect(itemOf(r, 'webhook_rejections_24h')).toMatchObject({
      status: 'ok',
      value: { total: 0 },
    });
  });

  it('when one member is stopped, then it is listed in recent_stops with its event, and 10 % stopped is still normal', async () => {
    const answer = await myaspStatus(users[0] ?? '', 2, 'stopped');
    const r = await dailyCheck();
    expect(itemOf(r, 'status_distribution').status).toBe('ok');
    expect(itemOf(r, 'mass_stop')).toMatchObject({ status: 'ok', value: { accounts_moved: 1 } });
    expect(itemOf(r, 'recent_stops')).toMatchObject({
      status: 'ok',
      value: {
        count: 1,
        accounts: [
          {
            account_id: `myasp:${users[0]}`,
            status: 'stopped',
            from_status: 'active',
            current_status: 'stopped',
            event_id: answer.event_id,
            source: 'myasp',
            event_type: 'myasp.stopped',
          },
        ],
      },
    });
    expect(itemOf(r, 'gate_probe')).toMatchObject({
      status: 'ok',
      value: {
        account_id: `myasp:${users[0]}`,
        confirm: { allowed: false, reason: 'status:stopped' },
        propose: { allowed: true },
      },
    });
  });

  it('when four of ten stop within the hour, then mass_stop fails naming the events and the distribution warns', async () => {
    for (const u of users.slice(1, 4)) await myaspStatus(u, 2, 'stopped');
    const r = await dailyCheck();
    const mass = itemOf(r, 'mass_stop');
    expect(mass).toMatchObject({
      status: 'fail',
      value: {
        accounts_moved: 4,
        total_accounts: 10,
        causes: [{ source: 'myasp', event_type: 'myasp.stopped', accounts: 4 }],
      },
    });
    expect(mass.message).toContain('myasp myasp.stopped');
    const dist = itemOf(r, 'status_distribution');
    expect(dist.status).toBe('warn');
    expect(dist.message).toContain('stopped 40% is above 10%');
    expect(dist.message).toContain('registered/active 60% is below 80%');
    expect(itemOf(r, 'recent_stops').value).toMatchObject({ count: 4 });
    expect(r.status).toBe('fail');
  });

  it('when the stops are more than an hour old, then mass_stop no longer fails but recent_stops still lists them', async () => {
    const later = new Date(Date.now() + 2 * 3_600_000).toISOString();
    const r = await dailyCheck(`?as_of=${encodeURIComponent(later)}`);
    expect(itemOf(r, 'mass_stop')).toMatchObject({ status: 'ok', value: { accounts_moved: 0 } });
    expect(itemOf(r, 'recent_stops').value).toMatchObject({ count: 4 });
  });

  it('when an operator raises stopped_max to 50 %, then 40 % stopped no longer warns for that reason', async () => {
    const set = await runCli(svc, ['thresholds', 'set', 'stopped_max', '50%']);
    expect(set).toMatchObject({ code: 0 });
    expect(set.stdout).toContain('stopped_max = 50%');
    try {
      const dist = itemOf(await dailyCheck(), 'status_distribution');
      expect(dist.message).not.toContain('stopped 40%');
      expect(dist.message).toContain('registered/active 60% is below 80%');
    } finally {
      expect(await runCli(svc, ['thresholds', 'reset', 'stopped_max'])).toMatchObject({ code: 0 });
    }
    const refused = await runCli(svc, ['thresholds', 'set', 'stopped_max', '150%']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('stopped_max must be a share between 0 and 1');
  });

  it('when more than 5 % of webhooks are rejected, then the error rate warns', async () => {
    const bad = await postStripe(svc.baseUrl, fx.customerUpdated({}), { secret: 'whsec_wrong' });
    expect(bad.status).toBe(400);
    const r = itemOf(await dailyCheck(), 'webhook_rejections_24h');
    // 1 rejected of 15 webhooks (14 MyASP forms stored) = 6.7 %.
    expect(r).toMatchObject({ status: 'warn', value: { total: 1, accepted: 14 } });
    expect(r.message).toContain('6.7%');
  });

  it('when a gate override opens the gate, then the gate probe warns until it is cleared', async () => {
    const set = await json(
      svc.admin('/v1/gate-overrides', {
        method: 'POST',
        body: JSON.stringify({ reason: 'daily check test', ttl: '1h', actor: 'ops:test' }),
      }),
    );
    expect(set.status).toBe(201);
    const id = (set.body.override as Row).id as string;
    try {
      expect(itemOf(await dailyCheck(), 'gate_probe')).toMatchObject({
        status: 'warn',
        value: { confirm: { allowed: true, reason: `override:${id}` } },
      });
    } finally {
      await svc.admin(`/v1/gate-overrides/${id}`, {
        method: 'DELETE',
        body: JSON.stringify({ reason: 'test over', actor: 'ops:test' }),
      });
    }
    expect(itemOf(await dailyCheck(), 'gate_probe').status).toBe('ok');
  });

  it('when every account is blocked, then the status distribution fails', async () => {
    for (const u of users.slice(4)) await myaspStatus(u, 4, 'canceled');
    const dist = itemOf(await dailyCheck(), 'status_distribution');
    expect(dist).toMatchObject({ status: 'fail', value: { total: 10 } });
    expect(dist.message).toContain('Every account is blocked');
  });
});
