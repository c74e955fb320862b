// The notification endpoint's workflow on the real time-skipping test server, with the real
// `sendNotifications` activity writing to a real PostgreSQL database and POSTing to a real
// receiver that verifies every signature: the receiver down for hours, then up; a message that
// runs out of retries after about three days no longer holds its account's later ones back;
// Retry-After is honoured; a 3xx is a failure and its Location is never followed.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

import { createActivities } from '../../activities';
import { insertChanges } from '../../src/db/queries/billing-changes';
import { insertEndpoint } from '../../src/db/queries/notifications';
import type { ChangeDraft, VisibleState } from '../../src/domain/changes';
import { notificationEndpointWorkflowId } from '../../src/temporal/ids';
import { WORKFLOWS_PATH } from '../../src/temporal/worker';
import { notificationEndpointWorkflow } from '../../workflows';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { uid } from '../helpers/ids';
import { type Answer, seqsOf, startReceiver, type TestReceiver } from '../helpers/notify-receiver';
import { SECRETS } from '../helpers/secrets';
import { createTimeSkippingEnv } from '../helpers/temporal';
import { createTestLogger } from '../helpers/test-logs';
import { waitFor } from '../helpers/wait';

let env: TestWorkflowEnvironment;
let db: TestDatabase;
let bundle: WorkflowBundleWithSourceMap;
let worker: Worker;
let running: Promise<void>;
let receiver: TestReceiver;
const taskQueue = 'notification-endpoint-test';

beforeAll(async () => {
  [env, db, bundle, receiver] = await Promise.all([
    createTimeSkippingEnv(),
    createTestDatabase(),
    bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} },
    }),
    startReceiver(SECRETS.notify),
  ]);
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createActivities({
      pool: db.pool,
      logger: createTestLogger('activities').logger,
      notify: { allowPrivate: true, timeoutMs: 5000 },
    }),
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await db?.drop();
  await receiver?.close();
});

const state = (status: VisibleState['status']): VisibleState => ({
  status,
  scheduled_cancel_at: null,
  grace_until: null,
  trial_end: null,
  status_object: 'manual',
});

/** `n` changes of a new account (free → active → past_due → …), queued for every endpoint. */
async function changesFor(n: number): Promise<string> {
  const account = uid('acct', '-');
  const statuses: VisibleState['status'][] = ['free', 'active', 'past_due', 'active', 'canceled'];
  const drafts: ChangeDraft[] = Array.from({ length: n }, (_, i) => ({
    account_id: account,
    type: 'billing.status_changed',
    previous: i === 0 ? null : state(statuses[(i - 1) % statuses.length] ?? 'free'),
    current: state(statuses[i % statuses.length] ?? 'free'),
    reason: 'manual_correction',
    cause: null,
  }));
  await insertChanges(db.pool, account, drafts);
  return account;
}

async function endpoint(url: string): Promise<string> {
  const id = uid('ep', '_');
  await insertEndpoint(db.pool, { id, url, secret: SECRETS.notify, types: null, source: 'api' });
  return id;
}

async function startEndpointWorkflow(id: string) {
  return env.client.workflow.start(notificationEndpointWorkflow, {
    workflowId: notificationEndpointWorkflowId(id),
    taskQueue,
    args: [{ endpoint_id: id }],
  });
}

const attemptsOf = (account: string) =>
  receiver.attempts.filter((m) => m.body.data.account_id === account);

describe('the notification endpoint workflow', () => {
  it('when the receiver is down for hours, then only each account’s first message is retried with growing pauses, and once it is up everything arrives in seq order', async () => {
    const down = new Set<string>();
    receiver.answer = (m) => (down.has(m.body.data.account_id) ? { status: 503 } : { status: 204 });
    const id = await endpoint(receiver.url);
    const a = await changesFor(3);
    const b = await changesFor(2);
    down.add(a).add(b);
    const handle = await startEndpointWorkflow(id);
    await env.sleep('6 hours');
    // Attempts at 0, 5 s, 35 s, 2 m 35 s, 12 m 35 s, 42 m 35 s, 1 h 42 m, 4 h 42 m: 8 by 6 hours.
    for (const account of [a, b]) {
      const tries = attemptsOf(account);
      expect(tries.map((m) => m.body.data.seq)).toEqual(Array(8).fill(1));
      expect(new Set(tries.map((m) => m.id)).size).toBe(1); // the same webhook-id every time
    }
    down.clear();
    await env.sleep('6 hours');
    await waitFor(
      () => Promise.resolve(seqsOf(receiver, a).length === 3 && seqsOf(receiver, b).length === 2),
      {
        what: 'every message once the receiver is up',
      },
    );
    expect(seqsOf(receiver, a)).toEqual([1, 2, 3]);
    expect(seqsOf(receiver, b)).toEqual([1, 2]);
    expect(receiver.unverified).toBe(0);
    await handle.terminate();
  });

  it('when one message fails for about three days, then it is kept as failed and the account’s next one is delivered', async () => {
    const id = await endpoint(receiver.url);
    const account = await changesFor(2);
    receiver.answer = (m) =>
      m.body.data.account_id === account && m.body.data.seq === 1
        ? { status: 500 }
        : { status: 200 };
    const handle = await startEndpointWorkflow(id);
    await env.sleep('2 days');
    expect(seqsOf(receiver, account)).toEqual([]);
    await env.sleep('2 days');
    await waitFor(() => Promise.resolve(seqsOf(receiver, account).length === 1), {
      what: 'the second message after the first failed',
    });
    expect(seqsOf(receiver, account)).toEqual([2]);
    const rows = await db.pool.query<{
      seq: string;
      attempts: number;
      failed: boolean;
      delivered: boolean;
    }>(
      `SELECT seq::text, attempts, failed_at IS NOT NULL AS failed, delivered_at IS NOT NULL AS delivered
         FROM notification_messages WHERE endpoint_id = $1 ORDER BY seq`,
      [id],
    );
    expect(rows.rows).toEqual([
      { seq: '1', attempts: 12, failed: true, delivered: false },
      { seq: '2', attempts: 1, failed: false, delivered: true },
    ]);
    await handle.terminate();
  });

  it('when the receiver answers Retry-After or a redirect, then the next attempt waits as asked and the redirect is not followed', async () => {
    const id = await endpoint(receiver.url);
    const slow = await changesFor(1);
    const moved = await changesFor(1);
    receiver.answer = (m): Answer => {
      const tries = attemptsOf(m.body.data.account_id).length;
      if (m.body.data.account_id === slow && tries === 1)
        return { status: 503, headers: { 'retry-after': '7200' } };
      if (m.body.data.account_id === moved && tries === 1)
        return { status: 307, headers: { location: `${receiver.url}/elsewhere` } };
      return { status: 204 };
    };
    const before = receiver.attempts.length;
    const handle = await startEndpointWorkflow(id);
    await env.sleep('1 hour');
    expect(attemptsOf(slow)).toHaveLength(1);
    // The redirect counted as a failure and was retried at the same URL, 5 s later.
    expect(attemptsOf(moved)).toHaveLength(2);
    expect(seqsOf(receiver, moved)).toEqual([1]);
    await env.sleep('90 minutes');
    await waitFor(() => Promise.resolve(seqsOf(receiver, slow).length === 1), {
      what: 'the message after its Retry-After',
    });
    expect(attemptsOf(slow)).toHaveLength(2);
    // Two attempts each, and no request to the redirect's Location.
    expect(receiver.attempts.length - before).toBe(4);
    await handle.terminate();
  });
});
