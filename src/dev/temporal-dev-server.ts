// The Temporal dev server for `npm start` and the test suite, from the CLI that `npm run setup`
// installs: started on free (or given) ports, optionally kept alive by the supervisor, and a
// leftover server of a killed run stopped before a new one uses its SQLite file.
import fs from 'node:fs';
import path from 'node:path';

import { environment } from '../config';
import { PortInUseError } from '../config/ports';
import { resolveTemporalCli } from '../temporal/binaries';
import { devServerSearchAttributeArgs } from '../temporal/search-attributes';
import {
  delay,
  findFreePort,
  type LogLine,
  noLog,
  processMatches,
  readPidFile,
  terminate,
} from './processes';
import { spawnServer } from './server-process';
import { type ExitInfo, supervise, SUPERVISED } from './supervisor';
import { waitUntilServing } from './temporal-frontend';

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
      if (!(err instanceof PortInUseError || err instanceof PortRaceError) || attempt >= attempts)
        throw err;
    }
  }
  if (!opts.supervise) return first;
  // The same ports the clients and the worker already use, and the same SQLite file.
  const again = { ...opts, port: first.port, uiPort: first.uiPort };
  const supervisor = supervise(first, {
    name: SUPERVISED.temporal,
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

/** One of the ports the CLI picks itself (HTTP API, metrics) was taken: worth another try. */
class PortRaceError extends Error {}

// What the CLI prints when a port we gave it is taken, and the setting that moves that port.
const OUR_PORTS = [
  {
    taken: /can't set frontend port (\d+)/i,
    what: 'the Temporal dev server',
    setting: 'LOCAL_TEMPORAL_PORT',
  },
  {
    taken: /can't set UI port (\d+)/i,
    what: 'the Temporal Web UI',
    setting: 'LOCAL_TEMPORAL_UI_PORT',
  },
];

function portInUse(output: string): PortInUseError | PortRaceError | undefined {
  for (const { taken, what, setting } of OUR_PORTS) {
    const port = taken.exec(output)?.[1];
    if (port) return new PortInUseError(Number(port), what, setting);
  }
  if (/address already in use/i.test(output)) {
    return new PortRaceError(
      `The Temporal dev server could not listen on one of its ports (address already in use): ${output.split('\n').pop() ?? ''}`,
    );
  }
  return undefined;
}

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
  const server = spawnServer(cli, args, { env: cliEnv(), log });
  if (pidFile && server.pid) fs.writeFileSync(pidFile, `${server.pid}\n`);
  const stop = async (): Promise<void> => {
    await server.stop(10_000);
    if (pidFile) fs.rmSync(pidFile, { force: true });
  };

  const address = `${host}:${port}`;
  try {
    await waitUntilServing(address, {
      name: 'The Temporal dev server',
      namespace: opts.namespace,
      timeoutMs: opts.startTimeoutMs ?? 60_000,
      exitReason: server.exitReason,
    });
  } catch (err) {
    await stop();
    await Promise.race([server.closed, delay(1000)]);
    const output = server.recent().slice(-8).join('\n');
    const taken = portInUse(output);
    if (taken) throw taken;
    throw new Error(
      `${(err as Error).message}\nLast output of the Temporal dev server:\n${output}`,
      {
        cause: err,
      },
    );
  }
  const uiUrl = uiPort === undefined ? '' : `http://${host}:${uiPort}`;
  log(`temporal: ready on ${address}${uiUrl ? `, Web UI ${uiUrl}` : ''}`);
  const { pid, exited } = server;
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
