// `npm start`, Ctrl-C, `npm start` again: the local stack comes back with its data. The suite runs
// as root here, so PostgreSQL runs as the `postgres` system user exactly as it does for a user
// who starts the service as root.
import fs from 'node:fs';
import path from 'node:path';

import { Client, Connection } from '@temporalio/client';

import { makeThrowawayDir } from '../../src/dev/local-stack';
import { accountWorkflowId } from '../../src/temporal/ids';
import { accountStateQuery } from '../../workflows/messages';
import { type StartedStack, startLocalStack } from '../helpers/npm-start';

const mode = (dir: string) => fs.statSync(dir).mode & 0o777;

async function registerAccount(stack: StartedStack, accountId: string): Promise<void> {
  const res = await stack.admin('/v1/accounts', {
    method: 'POST',
    body: JSON.stringify({ account_id: accountId, trial_days: 14 }),
  });
  expect(res.status).toBe(201);
}

/** The account's row over HTTP and its workflow through Temporal, as they are after a restart. */
async function expectAccountKept(stack: StartedStack, accountId: string): Promise<void> {
  const res = await stack.admin(`/v1/accounts/${encodeURIComponent(accountId)}`);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ account_id: accountId, status: 'free' });

  const connection = await Connection.connect({ address: stack.temporalAddress });
  try {
    const handle = new Client({ connection }).workflow.getHandle(accountWorkflowId(accountId));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const view = await handle.query(accountStateQuery);
    expect(view.state).toMatchObject({ status: 'free' });
  } finally {
    await connection.close();
  }
}

describe('npm start after Ctrl-C', () => {
  let root: string;
  let dataDir: string;
  const accountId = 'acct_restart_1';

  beforeAll(() => {
    root = makeThrowawayDir('billing-restart-');
    dataDir = path.join(root, 'data');
  });
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('when started, given an account, stopped with SIGINT and started again, then it says when everything has stopped, and the account and its workflow are still there', async () => {
    const first = await startLocalStack(dataDir);
    try {
      await registerAccount(first, accountId);
    } finally {
      expect(await first.stop('SIGINT')).toBe(0);
    }
    // Ctrl-C: one line when it begins, one when PostgreSQL, Temporal and the rest are down.
    const after = first.output().slice(first.output().indexOf('SIGINT: shutting down'));
    expect(after).toMatch(/^SIGINT: shutting down…\n/);
    expect(after.trimEnd().split('\n').pop()).toBe('billing orchestrator stopped');

    const second = await startLocalStack(dataDir);
    try {
      await expectAccountKept(second, accountId);
      // PostgreSQL accepts only 0700 or 0750 on its data directory.
      expect(mode(path.join(dataDir, 'postgres'))).toBe(0o700);
    } finally {
      expect(await second.stop('SIGINT')).toBe(0);
    }
  });

  it('when an earlier version left the data directory 0701, then start-up repairs it to 0700 and starts', async () => {
    const pgData = path.join(dataDir, 'postgres');
    fs.chmodSync(pgData, 0o701);

    const stack = await startLocalStack(dataDir);
    try {
      expect(mode(pgData)).toBe(0o700);
      expect(stack.output()).toMatch(/permissions/i);
      await expectAccountKept(stack, accountId);
    } finally {
      expect(await stack.stop('SIGINT')).toBe(0);
    }
  });
});
