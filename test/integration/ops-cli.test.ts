// The operator CLI (`npx billing-ops`) as an operator runs it, over the operator fixture: where it
// finds the database, exit codes, and one-sentence errors.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { getAccount } from '../../src/db/queries/billing-accounts';
import type { TestDatabase } from '../helpers/db';
import { cli, useOpsFixture } from '../helpers/ops-fixture';

let db: TestDatabase;
useOpsFixture((fixture) => {
  db = fixture.db;
});

describe('billing-ops CLI', () => {
  it('when DATABASE_URL is set, then daily-check --json prints the result and exits 0 on warnings', async () => {
    const r = await cli(['daily-check', '--json'], { DATABASE_URL: db.databaseUrl });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, status: 'warn', trigger: 'cli' });
  });

  it('when nothing says where the database is, then one sentence and exit 2', async () => {
    const r = await cli(['integrity-check'], {});
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^No database to connect to: set DATABASE_URL/),
    ]);
  });

  it('when .data/runtime.json from npm start is there, then the CLI connects with it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-ops-'));
    try {
      fs.mkdirSync(path.join(dir, '.data'));
      fs.writeFileSync(
        path.join(dir, '.data', 'runtime.json'),
        JSON.stringify({ databaseUrl: db.databaseUrl, namespace: 'default', taskQueue: 'billing' }),
      );
      const r = await cli(['dedupe-check'], { DATA_DIR: '.data' }, dir);
      expect(r).toMatchObject({ code: 0, stdout: 'duplicate dedupe_keys: 0\n' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the projection is corrupted, then integrity-check exits 1 and rebuild-projection --apply repairs it with progress on stderr', async () => {
    await db.pool.query(
      `UPDATE billing_accounts SET plan = 'hacked', status = 'active' WHERE account_id = 'acct_a'`,
    );
    const env = { DATABASE_URL: db.databaseUrl };
    expect(await cli(['integrity-check'], env)).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/FAIL\s+projection_last_event/),
    });
    const dry = await cli(['rebuild-projection'], env);
    expect(dry).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/acct_a\s+plan\s+"hacked"\s+"pro"/),
    });
    expect(await cli(['rebuild-projection', '--threads', '0'], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--threads takes a whole number from 1 to 64; got "0".'),
    });
    expect(await cli(['rebuild-projection', '--threads', '1'], env)).toMatchObject({
      code: 1,
      stdout: dry.stdout,
    });
    const fixed = await cli(['rebuild-projection', '--apply'], env);
    expect(fixed).toMatchObject({
      code: 0,
      stderr: expect.stringContaining('rebuild-projection: 11/11 events (100%)'),
    });
    expect(await getAccount(db.pool, 'acct_a')).toMatchObject({
      plan: 'pro',
      status: 'canceling',
    });
    expect((await cli(['integrity-check'], env)).code).toBe(0);
  });

  it('when a timeline or overrides are asked for, then replay and gate-override list answer', async () => {
    const replay = await cli(['replay', 'acct_a'], { DATABASE_URL: db.databaseUrl });
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/evt_pending|PENDING/);
    const list = await cli(['gate-override', 'list', '--json'], { DATABASE_URL: db.databaseUrl });
    expect(JSON.parse(list.stdout)).toEqual({ overrides: [] });
  });

  it('when an option is wrong, then the error is one sentence and nothing is written', async () => {
    const r = await cli(['gate-override', 'set', '--reason', 'outage', '--ttl', 'soon'], {
      DATABASE_URL: db.databaseUrl,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('--ttl "soon" is not a duration; use e.g. 30m, 2h or 1d.');
  });
});
