// As root, PostgreSQL runs as the `postgres` system user. A checkout that user cannot enter (mode
// 0700, as `mktemp -d` or a home directory makes it) keeps its mode: what PostgreSQL needs is placed
// where that user can reach it. The suite runs as root here, as a user who starts the service as
// root does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { copyBinaries, embeddedBinaries } from '../../src/dev/postgres-binaries';
import { initCluster } from '../../src/dev/postgres-cluster';
import {
  binariesFor,
  canReach,
  postgresOwner,
  SHARED_DIR,
} from '../../src/dev/postgres-permissions';
import { noLog } from '../../src/dev/processes';
import { startLocalStack } from '../helpers/npm-start';

const mode = (dir: string) => fs.statSync(dir).mode & 0o777;
const privateDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix)); // 0700

describe('npm start as root in a checkout the postgres user cannot enter', () => {
  let checkout: string;
  let sharedData: string | undefined;
  beforeAll(() => {
    expect(process.getuid?.()).toBe(0);
    checkout = privateDir('billing-private-checkout-');
  });
  afterAll(() => {
    if (sharedData) fs.rmSync(sharedData, { recursive: true, force: true });
    fs.rmSync(checkout, { recursive: true, force: true });
  });

  it('when started, stopped and started again, then the checkout keeps mode 0700, one line says where the data lives, and the data is kept', async () => {
    expect(mode(checkout)).toBe(0o700);
    const dataDir = path.join(checkout, '.data');
    const first = await startLocalStack(dataDir, { cwd: checkout });
    try {
      const res = await first.admin('/v1/accounts', {
        method: 'POST',
        body: JSON.stringify({ account_id: 'acct_root_1', trial_days: 14 }),
      });
      expect(res.status).toBe(201);
      expect(mode(checkout)).toBe(0o700);
      const link = path.join(dataDir, 'postgres');
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
      sharedData = fs.realpathSync(link);
      expect(sharedData.startsWith(`${SHARED_DIR}/`)).toBe(true);
      const said = first
        .output()
        .split('\n')
        .filter((l) => l.includes(sharedData as string));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(`no permission of ${checkout} was changed`);
    } finally {
      expect(await first.stop('SIGINT')).toBe(0);
    }
    expect(mode(checkout)).toBe(0o700);

    const second = await startLocalStack(dataDir, { cwd: checkout });
    try {
      const res = await second.admin('/v1/accounts/acct_root_1');
      expect(await res.json()).toMatchObject({ status: 'free' });
      expect(second.output()).not.toContain('no permission of');
    } finally {
      expect(await second.stop('SIGINT')).toBe(0);
    }
    expect(mode(checkout)).toBe(0o700);
  });

  it('when the programs sit in a folder the postgres user cannot enter, then a linked copy outside it runs initdb, and the folder keeps its mode', async () => {
    const owner = postgresOwner(noLog);
    const hidden = privateDir('billing-private-binaries-');
    const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-shared-'));
    try {
      const inPrivate = await copyBinaries(embeddedBinaries(), hidden, noLog);
      expect(canReach(owner, inPrivate.postgres)).toBe(false);
      const lines: string[] = [];
      const usable = await binariesFor(owner, inPrivate, (line) => lines.push(line), shared);
      expect(usable.root.startsWith(shared)).toBe(true);
      expect(canReach(owner, usable.postgres)).toBe(true);
      expect(lines).toEqual([expect.stringContaining(`cannot enter ${hidden}`)]);

      const dataDir = path.join(shared, 'cluster');
      await initCluster({ binaries: usable, dataDir, persistent: false, owner, log: noLog });
      expect(fs.existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
      expect(mode(hidden)).toBe(0o700);
    } finally {
      fs.rmSync(hidden, { recursive: true, force: true });
      fs.rmSync(shared, { recursive: true, force: true });
    }
  });
});
