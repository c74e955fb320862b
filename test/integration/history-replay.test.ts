// A history written by the Temporal server the suite runs on (the dev server, or in the server run
// the self-hosted Temporal server on PostgreSQL) replays against today's workflow code: what
// test/workflows/replay.test.ts proves for the committed histories, here for one the server just
// wrote, with signals, the apply activity, search attributes and a durable timer that fired.
import { Worker } from '@temporalio/worker';

import { accountWorkflowId } from '../../src/temporal/ids';
import * as fx from '../fixtures/stripe';
import { getAccount, statusBecomes } from '../helpers/accounts';
import { postStripe } from '../helpers/http';
import { nowS, uid } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';
import { temporalUnderTest } from '../helpers/temporal-kind';
import { waitFor } from '../helpers/wait';
import { workflowBundle } from '../helpers/workflow-bundle';

/** How far ahead the cancel is scheduled: the timer fires while the test waits. */
const CANCEL_IN_S = 3;

let svc: TestService;

beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});

describe(`an account history written by the Temporal server (${temporalUnderTest()})`, () => {
  it('when an account subscribes and its cancel at period end passes, then the history fetched from the server holds the fired timer and replays against the current workflow code', async () => {
    const parts = { accountId: uid('acct_replay'), subscriptionId: fx.stripeId('sub') };
    const t = nowS();
    const cancelAt = t + CANCEL_IN_S;
    for (const event of [
      fx.subscriptionCreated({ ...parts, created: t - 10 }),
      fx.subscriptionUpdated({
        ...parts,
        created: t,
        cancelAtPeriodEnd: true,
        currentPeriodEnd: cancelAt,
      }),
    ]) {
      expect((await postStripe(svc.baseUrl, event)).status).toBe(200);
    }
    const canceling = await statusBecomes(svc, parts.accountId, 'canceling');
    expect(canceling.scheduled_cancel_at).toBe(new Date(cancelAt * 1000).toISOString());
    // The workflow's timer decides the cancel (no further webhook is sent); the gate would fold a
    // passed deadline before that, so wait for the timer's own event to be applied.
    await waitFor(
      async () => {
        const r = await svc.db.pool.query(
          `SELECT 1 FROM billing_events
            WHERE account_id = $1 AND source = 'timer' AND outcome = 'applied'`,
          [parts.accountId],
        );
        return r.rowCount === 1 || undefined;
      },
      { what: 'the cancel timer applied' },
    );
    expect(await getAccount(svc, parts.accountId)).toMatchObject({ status: 'canceled' });

    const history = await svc.running
      .temporalClient()
      .client.workflow.getHandle(accountWorkflowId(parts.accountId))
      .fetchHistory();
    const events = history.events ?? [];
    expect(events.filter((e) => e.workflowExecutionSignaledEventAttributes).length).toBeGreaterThan(
      0,
    );
    expect(events.filter((e) => e.timerFiredEventAttributes)).toHaveLength(1);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history),
    ).resolves.toBeUndefined();
  });
});
