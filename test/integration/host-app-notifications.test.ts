// A host app that keeps its own copy of every account's billing state from notifications alone
// (SPEC §10, README): the example host app receives the real service's signed messages through
// createNotificationReceiver, acts on a lapse, and pulls a change the service gave up sending.
import { createServer } from 'node:http';

import { createHostApp } from '../../examples/host-app/server';
import { findFreePort } from '../../src/dev/local-stack';
import { getAccount, japanTime, myaspForm, statusBecomes } from '../helpers/accounts';
import { postMyasp } from '../helpers/http';
import { uid } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/wait';

let svc: TestService;
let host: ReturnType<typeof createHostApp>;
let server: ReturnType<typeof createServer>;

beforeAll(async () => {
  const port = await findFreePort();
  svc = await startService({
    env: {
      NOTIFY_URL: `http://127.0.0.1:${port}/billing/notifications`,
      NOTIFY_SECRET: SECRETS.notify,
      NOTIFY_ALLOW_PRIVATE: 'true',
    },
  });
  host = createHostApp({
    billingUrl: svc.baseUrl,
    billingGateToken: SECRETS.gate,
    notifySecret: SECRETS.notify,
  });
  server = createServer(host);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise<void>((done) => {
    server?.close(() => done());
    server?.closeAllConnections();
  });
  await svc?.stop();
});

let clock = Date.now() - 3_600_000;
const post = async (user: string, status: number) =>
  expect(
    (
      await postMyasp(
        svc.baseUrl,
        myaspForm({ user_id: user, status, ts: japanTime(new Date((clock += 10_000))) }),
      )
    ).status,
  ).toBe(200);

describe('the example host app keeping its own copy from notifications', () => {
  it('when an account is registered, lapses and comes back, then the host’s copy follows every change and it acted on the lapse once', async () => {
    const user = uid('host', '-');
    const account = `myasp:${user}`;
    await post(user, 1);
    await post(user, 2);
    await statusBecomes(svc, account, 'stopped');
    await waitFor(() => Promise.resolve(host.billing.accounts.get(account)?.status === 'stopped'), {
      what: 'the host copy stopped',
    });
    expect(host.billing.lapses.filter((l) => l.account_id === account)).toEqual([
      expect.objectContaining({ account_id: account, status: 'stopped' }),
    ]);
    await post(user, 3);
    await waitFor(() => Promise.resolve(host.billing.accounts.get(account)?.status === 'active'), {
      what: 'the host copy active again',
    });
    const projection = await getAccount(svc, account);
    expect(host.billing.accounts.get(account)).toMatchObject({
      seq: 3,
      status: projection?.status,
      status_object: `myasp:${user}`,
    });
  });

  it('when the service gave up on a change (it ran out of retries), then the host sees the gap in seq and pulls it before handing over the next', async () => {
    const user = uid('gap', '-');
    const account = `myasp:${user}`;
    await post(user, 1);
    await waitFor(() => Promise.resolve(host.billing.accounts.get(account)?.seq === 1), {
      what: 'the first change received',
    });
    // Take the configured endpoint out of the way, let a change happen, and mark its message
    // failed, as three days of refusals would; then bring the endpoint back for the next change.
    await svc.db.pool.query(
      `UPDATE notification_endpoints SET disabled_at = now(), disabled_reason = 'test' WHERE source = 'config'`,
    );
    await post(user, 2);
    await statusBecomes(svc, account, 'stopped');
    await svc.db.pool.query(
      `INSERT INTO notification_messages (endpoint_id, change_id, account_id, seq, attempts, failed_at)
       SELECT e.id, c.change_id, c.account_id, c.seq, 12, now()
         FROM billing_changes c, notification_endpoints e
        WHERE c.account_id = $1 AND c.seq = 2 AND e.source = 'config' AND e.deleted_at IS NULL`,
      [account],
    );
    await svc.db.pool.query(
      `UPDATE notification_endpoints SET disabled_at = NULL, disabled_reason = NULL WHERE source = 'config'`,
    );
    await post(user, 3);
    await waitFor(() => Promise.resolve(host.billing.accounts.get(account)?.seq === 3), {
      what: 'the third change handed over after the pulled second',
    });
    expect(host.billing.lapses.filter((l) => l.account_id === account)).toEqual([
      expect.objectContaining({ status: 'stopped' }),
    ]);
    expect(host.billing.accounts.get(account)?.status).toBe('active');
  });
});
