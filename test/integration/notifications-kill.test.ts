// Restarts while notifications are being sent (SPEC §10: a restart of the service or of Temporal
// loses nothing). The service SIGKILLed: the killed round runs again on the restarted worker once
// its heartbeat times out. Temporal stopped and started again: the round whose result it could
// not take runs again. Either way every change arrives, in seq order per account, and a message
// sent again carries the same webhook-id.
import { randomBytes } from 'node:crypto';

import { findFreePort } from '../../src/dev/local-stack';
import { japanTime, myaspForm } from '../helpers/accounts';
import {
  killHard,
  type ServiceChild,
  startServiceProcess,
  stopHelperProcess,
} from '../helpers/child-process';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { postMyasp } from '../helpers/http';
import { uid } from '../helpers/ids';
import { startReceiver, type TestReceiver } from '../helpers/notify-receiver';
import { SECRETS } from '../helpers/secrets';
import { type PrivateTemporal, startPrivateTemporal } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

let db: TestDatabase;
let receiver: TestReceiver;
let service: ServiceChild | undefined;
let temporal: PrivateTemporal | undefined;

beforeAll(async () => {
  [db, receiver] = await Promise.all([createTestDatabase(), startReceiver(SECRETS.notify)]);
});
afterAll(async () => {
  await stopHelperProcess(service);
  await temporal?.stop();
  await receiver?.close();
  await db?.drop();
});

/** Three changes per user's account (status 1, 2, 3), posted a second apart an hour ago. */
async function postThreeChanges(port: number, users: string[]): Promise<void> {
  let ts = Date.now() - 3_600_000;
  for (const status of [1, 2, 3])
    for (const user of users) {
      const body = myaspForm({ user_id: user, status, ts: japanTime(new Date((ts += 1000))) });
      expect((await postMyasp(`http://127.0.0.1:${port}`, body)).status).toBe(200);
    }
}

/** Every change of the users' accounts accepted by the receiver, first sends in seq order. */
async function everyChangeInOrder(users: string[], when: string): Promise<void> {
  const accounts = users.map((u) => `myasp:${u}`);
  const total = async () =>
    (
      await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM billing_changes WHERE account_id = ANY($1::text[])`,
        [accounts],
      )
    ).rows[0]?.n ?? 0;
  await waitFor(
    async () =>
      (await total()) === users.length * 3 &&
      new Set(
        receiver.accepted.filter((m) => accounts.includes(m.body.data.account_id)).map((m) => m.id),
      ).size ===
        users.length * 3,
    { timeoutMs: 240_000, what: `every change delivered ${when}` },
  );
  for (const account of accounts) {
    const firsts: number[] = [];
    const seen = new Set<string>();
    for (const m of receiver.accepted.filter((x) => x.body.data.account_id === account))
      if (!seen.has(m.id)) {
        seen.add(m.id);
        firsts.push(m.body.data.seq);
      }
    expect([account, firsts]).toEqual([account, [1, 2, 3]]);
  }
}

describe('notifications when the service is SIGKILLed mid-delivery', () => {
  it('when the process dies while messages are in flight and is restarted, then every change arrives in seq order, re-sent with the same webhook-id', async () => {
    const port = await findFreePort();
    const queue = `billing-test-${randomBytes(4).toString('hex')}`;
    const start = () =>
      startServiceProcess({
        databaseUrl: db.databaseUrl,
        taskQueue: queue,
        port,
        env: {
          NOTIFY_URL: receiver.url,
          NOTIFY_SECRET: SECRETS.notify,
          NOTIFY_ALLOW_PRIVATE: 'true',
        },
      });
    service = await start();
    // A slow host: nothing is answered before the kill.
    receiver.answer = () => ({ status: 204, delayMs: 5000 });
    const users = Array.from({ length: 5 }, () => uid('kill', '-'));
    await postThreeChanges(port, users);
    await waitFor(() => Promise.resolve(receiver.attempts.length > 0), {
      timeoutMs: 60_000,
      what: 'a notification in flight',
    });
    const inFlight = new Set(receiver.attempts.map((m) => m.id));
    await killHard(service);
    receiver.answer = () => ({ status: 204 });
    service = await start();
    await everyChangeInOrder(users, 'after the restart');
    // What was in flight at the kill was sent again under the same webhook-id, body unchanged.
    for (const id of inFlight) {
      const tries = receiver.attempts.filter((m) => m.id === id);
      expect(tries.length).toBeGreaterThanOrEqual(2);
      expect(new Set(tries.map((m) => JSON.stringify(m.body))).size).toBe(1);
    }
    expect(receiver.unverified).toBe(0);
    // The killed round waits out its heartbeat timeout (20 s) before it runs again.
  }, 300_000);
});

describe('notifications when Temporal stops mid-delivery and starts again', () => {
  it('when Temporal is stopped while messages are in flight and started again on its storage, then every change arrives in seq order, re-sent with the same webhook-id', async () => {
    await stopHelperProcess(service);
    service = undefined;
    temporal = await startPrivateTemporal();
    const port = await findFreePort();
    service = await startServiceProcess({
      databaseUrl: db.databaseUrl,
      taskQueue: `billing-test-${randomBytes(4).toString('hex')}`,
      port,
      temporalAddress: temporal.address,
      env: {
        NOTIFY_URL: receiver.url,
        NOTIFY_SECRET: SECRETS.notify,
        NOTIFY_ALLOW_PRIVATE: 'true',
      },
    });
    const before = receiver.attempts.length;
    // A slow host: the round is still sending when Temporal goes away.
    receiver.answer = () => ({ status: 204, delayMs: 3000 });
    const users = Array.from({ length: 4 }, () => uid('tmprl', '-'));
    await postThreeChanges(port, users);
    await waitFor(() => Promise.resolve(receiver.attempts.length > before), {
      timeoutMs: 60_000,
      what: 'a notification in flight',
    });
    const inFlight = new Set(receiver.attempts.slice(before).map((m) => m.id));
    await temporal.shutDown();
    receiver.answer = () => ({ status: 204 });
    await temporal.restart();
    await everyChangeInOrder(users, 'after Temporal came back');
    for (const id of inFlight) {
      const tries = receiver.attempts.filter((m) => m.id === id);
      expect(new Set(tries.map((m) => JSON.stringify(m.body))).size).toBe(1);
    }
    expect(receiver.unverified).toBe(0);
  }, 300_000);
});
