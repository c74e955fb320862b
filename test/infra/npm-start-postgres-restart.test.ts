// `npm start` supervises the embedded PostgreSQL it started, as it does the Temporal dev server:
// when the server dies, it comes back on the same port and data directory, the service turns
// ready again and events are applied, without a person.
import fs from 'node:fs';
import path from 'node:path';

import { makeThrowawayDir } from '../../src/dev/local-stack';
import { readPidFile } from '../../src/dev/processes';
import * as fx from '../fixtures/stripe';
import { postStripe } from '../helpers/http';
import { START_TIMEOUT_MS, type StartedStack, startLocalStack } from '../helpers/npm-start';
import { killPostgresHard } from '../helpers/postgres-kill';
import { waitFor } from '../helpers/wait';

async function readiness(stack: StartedStack): Promise<{ status: number; postgres?: boolean }> {
  const res = await fetch(`${stack.apiUrl}/readyz`);
  return { status: res.status, ...((await res.json()) as { postgres?: boolean }) };
}

async function outcomeOf(stack: StartedStack, accountId: string, eventId: unknown) {
  return waitFor(
    async () => {
      const res = await stack.admin(`/v1/accounts/${accountId}/events`);
      if (res.status !== 200) return undefined;
      const { events } = (await res.json()) as {
        events: { id: unknown; outcome: string | null }[];
      };
      return events.find((e) => String(e.id) === String(eventId))?.outcome ?? undefined;
    },
    { timeoutMs: START_TIMEOUT_MS, intervalMs: 250, what: `event ${String(eventId)} applied` },
  );
}

describe('npm start when its embedded PostgreSQL dies', () => {
  let root: string;
  let pgData: string;
  let stack: StartedStack;

  beforeAll(async () => {
    root = makeThrowawayDir('billing-supervise-pg-');
    pgData = path.join(root, 'data', 'postgres');
    stack = await startLocalStack(path.join(root, 'data'));
  });
  afterAll(async () => {
    if (stack) expect(await stack.stop('SIGINT')).toBe(0);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('when the postmaster and its backends are killed (SIGKILL), then it is restarted on the same port, /readyz turns ready again and an event posted afterwards is applied', async () => {
    const accountId = 'acct_pg_restart';
    const registered = await stack.admin('/v1/accounts', {
      method: 'POST',
      body: JSON.stringify({ account_id: accountId, trial_days: 0 }),
    });
    expect(registered.status).toBe(201);
    const killed = readPidFile(path.join(pgData, 'postmaster.pid'));
    expect(killed).toBeDefined();

    await killPostgresHard(pgData);

    // Restarted: a new postmaster on the same port (the service's pool was never told of another).
    await waitFor(
      async () => {
        const pid = readPidFile(path.join(pgData, 'postmaster.pid'));
        return pid !== undefined && pid !== killed && (await readiness(stack)).status === 200;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 250, what: 'PostgreSQL to come back' },
    );
    expect(await readiness(stack)).toMatchObject({ status: 200, postgres: true });
    expect(stack.output()).toMatch(
      /embedded PostgreSQL exited \(signal SIGKILL\); restarting in 1 s/,
    );
    expect(stack.output()).toMatch(/embedded PostgreSQL restarted \(pid \d+\)/);

    const ids = { accountId, customerId: fx.stripeId('cus'), subscriptionId: fx.stripeId('sub') };
    const answer = await postStripe(stack.apiUrl, fx.subscriptionCreated(ids));
    expect(answer.status).toBe(200);
    expect(await outcomeOf(stack, accountId, answer.body.event_id)).toBe('applied');
    const account = await stack.admin(`/v1/accounts/${accountId}`);
    expect(await account.json()).toMatchObject({ status: 'active' });
  });
});
