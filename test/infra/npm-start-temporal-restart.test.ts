// `npm start` supervises the Temporal dev server it started: when the server dies, it comes back
// on the same ports and SQLite file, and the worker picks up work again, without a person.
import fs from 'node:fs';
import path from 'node:path';

import { makeThrowawayDir } from '../../src/dev/local-stack';
import { START_TIMEOUT_MS, type StartedStack, startLocalStack } from '../helpers/npm-start';
import { waitFor } from '../helpers/wait';

function devServerPid(dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(dataDir, 'temporal.db.pid'), 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function readiness(stack: StartedStack): Promise<{ temporal?: boolean }> {
  const res = await fetch(`${stack.apiUrl}/readyz`);
  return (await res.json()) as { temporal?: boolean };
}

describe('npm start when its Temporal dev server dies', () => {
  let root: string;
  let dataDir: string;
  let stack: StartedStack;

  beforeAll(async () => {
    root = makeThrowawayDir('billing-supervise-');
    dataDir = path.join(root, 'data');
    stack = await startLocalStack(dataDir);
  });
  afterAll(async () => {
    if (stack) expect(await stack.stop('SIGINT')).toBe(0);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('when the dev server is killed, then it is restarted on the same address and a registration made afterwards is applied', async () => {
    const before = await stack.admin('/v1/accounts', {
      method: 'POST',
      body: JSON.stringify({ account_id: 'acct_before_kill', trial_days: 14 }),
    });
    expect(before.status).toBe(201);
    const killed = devServerPid(dataDir);
    expect(killed).toBeDefined();
    process.kill(killed as number, 'SIGKILL');

    // Restarted: a new process on the same address (the API's client was never told of another).
    await waitFor(
      async () => {
        const pid = devServerPid(dataDir);
        return pid !== undefined && pid !== killed && (await readiness(stack)).temporal === true;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 250, what: 'the dev server to come back' },
    );
    expect(stack.output()).toMatch(/temporal dev server exited \(signal SIGKILL\); restarting in/);

    const after = await stack.admin('/v1/accounts', {
      method: 'POST',
      body: JSON.stringify({ account_id: 'acct_after_restart', trial_days: 14 }),
    });
    expect(after.status).toBe(201);
    const view = await stack.admin('/v1/accounts/acct_after_restart');
    expect(await view.json()).toMatchObject({ status: 'free' });
    // The workflow started before the kill still runs in the same SQLite file.
    const kept = await stack.admin('/v1/accounts/acct_before_kill');
    expect(await kept.json()).toMatchObject({ status: 'free' });
  });
});
