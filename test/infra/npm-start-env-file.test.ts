// `.env` read by the real entry point: a port set there is the port served, and a malformed file
// stops start-up with one line. (The loader's rules: test/unit/env-file.test.ts.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { findFreePort } from '../../src/dev/local-stack';
import { createTestDatabase } from '../helpers/db';
import { spawnMain } from '../helpers/npm-start';
import { SECRETS } from '../helpers/secrets';
import { waitFor } from '../helpers/wait';

function dirWith(envText: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-env-'));
  fs.writeFileSync(path.join(dir, '.env'), envText);
  return dir;
}

describe('npm start with a .env', () => {
  it('when .env sets PORT, then the API listens there and start-up says which file it read', async () => {
    const port = await findFreePort();
    const db = await createTestDatabase();
    const dir = dirWith(
      [
        `PORT=${port}`,
        `DATABASE_URL=${db.databaseUrl}`,
        `TEMPORAL_ADDRESS=${process.env.TEST_TEMPORAL_ADDRESS ?? ''}`,
        `ADMIN_TOKEN=${SECRETS.admin}`,
        `MYASP_TOKEN=${SECRETS.myasp}`,
      ].join('\n') + '\n',
    );
    const main = spawnMain({ cwd: dir, args: ['--role=api'] });
    try {
      await waitFor(
        () => Promise.resolve(/API:/.test(main.output()) || main.child.exitCode !== null),
        {
          timeoutMs: 60_000,
          what: 'the API banner',
        },
      );
      expect(main.output()).toContain(`read settings from ${path.join(dir, '.env')}`);
      expect(main.output()).toContain(`API:          http://localhost:${port}`);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      main.child.kill('SIGINT');
      await main.exited;
      await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when .env is malformed, then start-up stops with one line', async () => {
    const dir = dirWith('PORT=3999\nthis is not a setting\n');
    const main = spawnMain({ cwd: dir });
    try {
      expect(await main.exited).toBe(1);
      expect(main.output().trim()).toBe(
        `billing: ${path.join(dir, '.env')} line 2 is not of the form NAME=value; fix that line or remove the file (see .env.example).`,
      );
    } finally {
      if (main.child.exitCode === null) main.child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
