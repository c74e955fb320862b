// The operations checklist's scenario end to end: the real billing service, MyASP posts over HTTP,
// and the example host app asking it through requireEntitlement. A stopped account cannot
// confirm but can propose; a registered or revived one can do both; a billing outage never stops
// propose or vote.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createHostApp, type HostAppOptions } from '../../examples/host-app/server';
import { DEFAULT_TIMEOUT_MS } from '../../src/host-app/entitlement';
import {
  counters,
  japanTime,
  myaspForm,
  register,
  statusBecomes,
  stringContaining,
  stringMatching,
} from '../helpers/accounts';
import { type Answer, json, postMyasp } from '../helpers/http';
import { uid } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';

let svc: TestService;
let host: { url: string; close(): Promise<void> };

function listen(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections(); // keep-alive and hanging sockets would hold close() open
          }),
      });
    });
  });
}

function startHost(opts: Partial<HostAppOptions> = {}) {
  const app = createHostApp({ billingUrl: svc.baseUrl, billingGateToken: SECRETS.gate, ...opts });
  return listen(createServer(app));
}

beforeAll(async () => {
  svc = await startService();
  host = await startHost();
});
afterAll(async () => {
  await host?.close();
  await svc?.stop();
});

let clock = Date.now() - 3_600_000;
const nextTs = () => japanTime(new Date((clock += 10_000)));

function act(
  action: 'propose' | 'vote' | 'confirm',
  accountId: string | null,
  baseUrl = host.url,
): Promise<Answer> {
  const headers: Record<string, string> = accountId === null ? {} : { 'x-account-id': accountId };
  return json(
    fetch(`${baseUrl}/api/schedules/sch-${randomBytes(2).toString('hex')}/${action}`, {
      method: 'POST',
      headers,
    }),
  );
}

async function myaspStatus(user: string, status: number): Promise<void> {
  expect(
    (await postMyasp(svc.baseUrl, myaspForm({ user_id: user, status, ts: nextTs() }))).status,
  ).toBe(200);
}

describe('the operations checklist scenario through the example host app', () => {
  it('when MyASP stopped the account, then confirm → 403 not_entitled and propose/vote → 200', async () => {
    const user = uid('stop', '-');
    const account = `myasp:${user}`;
    await myaspStatus(user, 1);
    await myaspStatus(user, 2);
    await statusBecomes(svc, account, 'stopped');

    const confirm = await act('confirm', account);
    expect(confirm.status).toBe(403);
    expect(confirm.body).toEqual({
      error: {
        code: 'not_entitled',
        reason: 'status:stopped',
        status: 'stopped',
        message: stringMatching(
          /^stopped: myasp:\S+ status 2 \(stopped\) since \S+ \(myasp:\S+\), so confirm is denied\.$/,
        ),
      },
    });
    const propose = await act('propose', account);
    expect(propose.status).toBe(200);
    expect(propose.body).toMatchObject({
      action: 'propose',
      schedule: { proposals: 1 },
      entitlement: { allowed: true, reason: 'not_gated', status: 'stopped', source: 'gate' },
    });
    expect((await act('vote', account)).status).toBe(200);
  });

  it('when the account is registered (POST /v1/accounts), then confirm and propose → 200', async () => {
    const account = uid('acct', '-');
    expect((await register(svc, { account_id: account, trial_days: 14 })).status).toBe(201);
    const confirm = await act('confirm', account);
    expect(confirm.status).toBe(200);
    expect(confirm.body).toMatchObject({
      schedule: { confirmed: true },
      entitlement: { allowed: true, reason: 'status:free', account_id: account },
    });
    expect((await act('propose', account)).status).toBe(200);
  });

  it('when MyASP revives a stopped account (status 3 after 2), then confirm goes from 403 to 200', async () => {
    const user = uid('revive', '-');
    const account = `myasp:${user}`;
    await myaspStatus(user, 2);
    await statusBecomes(svc, account, 'stopped');
    expect((await act('confirm', account)).status).toBe(403);
    await myaspStatus(user, 3);
    await statusBecomes(svc, account, 'active');
    const confirm = await act('confirm', account);
    expect(confirm.status).toBe(200);
    expect(confirm.body).toMatchObject({
      entitlement: { allowed: true, reason: 'status:active', status: 'active' },
    });
    expect((await act('propose', account)).status).toBe(200);
  });

  it('when the request names no account or an unknown one, then confirm → 403 no_billing_account, propose → 200', async () => {
    for (const account of [null, uid('unknown', '-')]) {
      const confirm = await act('confirm', account);
      expect(confirm.status).toBe(403);
      expect(confirm.body).toMatchObject({
        error: { code: 'not_entitled', reason: 'no_billing_account', status: null },
      });
      expect((await act('propose', account)).status).toBe(200);
    }
  });

  it('when the host app asks, then each gate check is counted in the service (confirm_total, confirm_rejected, propose_total)', async () => {
    const names = ['confirm_total', 'confirm_rejected', 'propose_total'] as const;
    const account = uid('count', '-');
    await register(svc, { account_id: account });
    const before = await counters(svc, names);
    await act('confirm', account);
    await act('confirm', uid('unknown', '-'));
    await act('propose', account);
    await act('vote', account);
    const after = await counters(svc, names);
    expect([
      after.confirm_total - before.confirm_total,
      after.confirm_rejected - before.confirm_rejected,
      after.propose_total - before.propose_total,
    ]).toEqual([2, 1, 1]);
  });
});

describe('when the billing service cannot answer', () => {
  /** A port with nothing listening: connection refused. */
  async function closedPortUrl(): Promise<string> {
    const probe = await listen(createServer());
    await probe.close();
    return probe.url;
  }

  it.each<{
    name: string;
    billing: () => Promise<{ url: string; close(): Promise<void> }>;
    timeoutMs?: number;
  }>([
    {
      name: 'it is down (connection refused)',
      billing: async () => ({ url: await closedPortUrl(), close: () => Promise.resolve() }),
    },
    // Accepts the connection and never answers: only the middleware's deadline ends the wait.
    { name: 'it hangs', billing: () => listen(createServer(() => undefined)), timeoutMs: 300 },
  ])(
    'when $name, then propose and vote → 200 and confirm → 503 (deny by default), or 200 with onUnavailable allow',
    async ({ billing, timeoutMs }) => {
      const down = await billing();
      const deny = await startHost({ billingUrl: down.url, timeoutMs });
      const allow = await startHost({ billingUrl: down.url, timeoutMs, onUnavailable: 'allow' });
      try {
        const started = Date.now();
        const propose = await act('propose', 'myasp:anyone', deny.url);
        expect(propose.status).toBe(200);
        expect(propose.body).toMatchObject({
          entitlement: { allowed: true, source: 'local', reason: 'billing_unavailable' },
        });
        // The middleware gives up after its own timeout instead of hanging with the service.
        expect(Date.now() - started).toBeLessThan((timeoutMs ?? DEFAULT_TIMEOUT_MS) * 4);
        expect((await act('vote', 'myasp:anyone', deny.url)).status).toBe(200);
        expect((await act('propose', null, deny.url)).status).toBe(200);

        const confirm = await act('confirm', 'myasp:anyone', deny.url);
        expect(confirm.status).toBe(503);
        expect(confirm.headers.get('retry-after')).toBe('5');
        expect(confirm.body).toEqual({
          error: {
            code: 'billing_unavailable',
            message: stringContaining('billing service could not be asked'),
          },
        });

        const allowed = await act('confirm', 'myasp:anyone', allow.url);
        expect(allowed.status).toBe(200);
        expect(allowed.body).toMatchObject({ entitlement: { allowed: true, source: 'local' } });
      } finally {
        await deny.close();
        await allow.close();
        await down.close();
      }
    },
  );

  it('when the host is configured with a wrong gate token, then confirm → 503 naming the token, propose → 200', async () => {
    const misconfigured = await startHost({ billingGateToken: 'not-a-gate-token' });
    try {
      const confirm = await act('confirm', 'myasp:anyone', misconfigured.url);
      expect(confirm.status).toBe(503);
      expect(confirm.body).toMatchObject({
        error: {
          code: 'billing_unavailable',
          message: stringContaining('HTTP 401 (check the gate token)'),
        },
      });
      expect((await act('propose', 'myasp:anyone', misconfigured.url)).status).toBe(200);
    } finally {
      await misconfigured.close();
    }
  });
});
