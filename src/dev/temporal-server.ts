// The self-hosted Temporal server on PostgreSQL for the test suite's server run and the bench, run
// the way docker-compose.yml runs it (src/dev/self-hosted-temporal.ts): the schema job, then
// `temporal-server start` configured by environment variables, then the setup job. Built by
// `npm run setup` (scripts/ensure-tools.mjs); ports are picked free, since the machine is shared.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { environment } from '../config';
import {
  resolveTemporalCli,
  resolveTemporalServerTools,
  TEMPORAL_SERVER_VERSION,
} from '../temporal/binaries';
import { findFreePortBelow, type LogLine, noLog } from './processes';
import {
  DEFAULT_HISTORY_SHARDS,
  dynamicConfigFile,
  TEMPORAL_SCHEMA_SCRIPT,
  TEMPORAL_SETUP_SCRIPT,
  type TemporalPostgres,
  temporalSchemaEnv,
  temporalServerEnv,
} from './self-hosted-temporal';
import { spawnServer } from './server-process';
import type { ExitInfo } from './supervisor';
import { TemporalCliMissingError } from './temporal-dev-server';
import { waitUntilServing } from './temporal-frontend';

/** The config template's port settings; compose keeps their defaults (frontend 7233). */
const PORT_KEYS = {
  frontend: 'FRONTEND_GRPC_PORT',
  frontendHttp: 'FRONTEND_HTTP_PORT',
  frontendMembership: 'FRONTEND_MEMBERSHIP_PORT',
  history: 'HISTORY_GRPC_PORT',
  historyMembership: 'HISTORY_MEMBERSHIP_PORT',
  matching: 'MATCHING_GRPC_PORT',
  matchingMembership: 'MATCHING_MEMBERSHIP_PORT',
  worker: 'WORKER_GRPC_PORT',
  workerMembership: 'WORKER_MEMBERSHIP_PORT',
} as const;
export type TemporalServerPorts = Record<keyof typeof PORT_KEYS, number>;

/** Temporal stores membership ports in a PostgreSQL smallint: the OS's ephemeral ports do not fit. */
const PORT_LIMIT = 32_768;
const HOST = '127.0.0.1';

export interface SelfHostedTemporalOptions {
  postgres: TemporalPostgres;
  /** Default `default`. */
  namespace?: string;
  /** For a new cluster; default 4. An existing cluster keeps the number it was created with. */
  historyShards?: number;
  /**
   * Dynamic config values on top of deploy/temporal/dynamicconfig.yaml, e.g.
   * `{ 'limit.historyCount.suggestContinueAsNew': 50 }`: both go to a file in `workDir`.
   */
  dynamicConfig?: Record<string, string | number | boolean>;
  workDir?: string;
  /** The ports of an earlier start, to come back on the same address; free ones otherwise. */
  ports?: TemporalServerPorts;
  /** How long the schema job, the server and the setup job may take together; default 120 s. */
  startTimeoutMs?: number;
  log?: LogLine;
}

export interface SelfHostedTemporalHandle {
  /** `host:port` of the frontend. */
  address: string;
  namespace: string;
  pid: number;
  ports: TemporalServerPorts;
  historyShards: number;
  version: string;
  exited: Promise<ExitInfo>;
  stop(): Promise<void>;
}

export class TemporalServerMissingError extends Error {
  constructor() {
    super(
      `The Temporal server ${TEMPORAL_SERVER_VERSION} is not built: run \`npm run setup\` (it needs Go).`,
    );
    this.name = 'TemporalServerMissingError';
  }
}

export async function startSelfHostedTemporal(
  opts: SelfHostedTemporalOptions,
): Promise<SelfHostedTemporalHandle> {
  const tools = resolveTemporalServerTools();
  if (!tools) throw new TemporalServerMissingError();
  const cli = resolveTemporalCli();
  if (!cli) throw new TemporalCliMissingError();
  const log = opts.log ?? noLog;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 120_000);
  await runScript('temporal schema', TEMPORAL_SCHEMA_SCRIPT, deadline, log, {
    PATH: searchPath(path.dirname(tools.sqlTool)),
    ...temporalSchemaEnv(opts.postgres),
    TEMPORAL_SCHEMA_DIR: tools.schemaDir,
  });
  // Ports we pick ourselves can be taken by someone else before the server binds them.
  for (let attempt = 1; ; attempt++) {
    const ports = opts.ports ?? (await freePorts());
    try {
      const handle = await startServer(tools.server, opts, ports, deadline, log);
      await runSetupJob(cli, handle, deadline, log);
      log(`temporal-server: ready on ${handle.address} (${handle.historyShards} history shards)`);
      return handle;
    } catch (err) {
      if (!(err instanceof PortInUseError) || opts.ports || attempt >= 3) throw err;
    }
  }
}

const searchPath = (dir: string) => [dir, environment().PATH ?? ''].join(path.delimiter);

/** The namespace and search attributes; the server is stopped again when that fails. */
async function runSetupJob(
  cli: string,
  handle: SelfHostedTemporalHandle,
  deadline: number,
  log: LogLine,
): Promise<void> {
  try {
    await runScript('temporal setup', TEMPORAL_SETUP_SCRIPT, deadline, log, {
      PATH: searchPath(path.dirname(cli)),
      HOME: environment().HOME ?? '',
      TEMPORAL_ADDRESS: handle.address,
      TEMPORAL_NAMESPACE: handle.namespace,
    });
  } catch (err) {
    await handle.stop();
    throw err;
  }
}

class PortInUseError extends Error {}

async function startServer(
  server: string,
  opts: SelfHostedTemporalOptions,
  ports: TemporalServerPorts,
  deadline: number,
  log: LogLine,
): Promise<SelfHostedTemporalHandle> {
  const historyShards = opts.historyShards ?? DEFAULT_HISTORY_SHARDS;
  const env: NodeJS.ProcessEnv = {
    PATH: environment().PATH,
    ...temporalServerEnv({
      postgres: opts.postgres,
      historyShards,
      bindOnIp: HOST,
      dynamicConfigFile: dynamicConfigWith(opts),
    }),
    ...Object.fromEntries(
      Object.entries(PORT_KEYS).map(([name, key]) => [
        key,
        String(ports[name as keyof TemporalServerPorts]),
      ]),
    ),
  };
  log(`temporal-server: start (${TEMPORAL_SERVER_VERSION}, frontend ${HOST}:${ports.frontend})`);
  const proc = spawnServer(server, ['start'], { env, log });
  const address = `${HOST}:${ports.frontend}`;
  const stop = () => proc.stop(20_000);
  try {
    await waitUntilServing(address, {
      name: 'The Temporal server',
      timeoutMs: Math.max(1000, deadline - Date.now()),
      exitReason: proc.exitReason,
    });
  } catch (err) {
    await stop();
    const output = proc.recent().slice(-8).join('\n');
    const Failure = /address already in use/i.test(output) ? PortInUseError : Error;
    throw new Failure(`${(err as Error).message}\nLast output of the Temporal server:\n${output}`, {
      cause: err,
    });
  }
  return {
    address,
    namespace: opts.namespace ?? 'default',
    pid: proc.pid,
    ports,
    historyShards,
    version: TEMPORAL_SERVER_VERSION,
    exited: proc.exited,
    stop,
  };
}

async function freePorts(): Promise<TemporalServerPorts> {
  const ports: Partial<TemporalServerPorts> = {};
  const taken = new Set<number>();
  for (const name of Object.keys(PORT_KEYS) as (keyof TemporalServerPorts)[]) {
    let port: number;
    do port = await findFreePortBelow(PORT_LIMIT);
    while (taken.has(port));
    taken.add(port);
    ports[name] = port;
  }
  return ports as TemporalServerPorts;
}

/** deploy/temporal/dynamicconfig.yaml, or a copy in workDir with `dynamicConfig` added. */
function dynamicConfigWith(opts: SelfHostedTemporalOptions): string {
  const base = dynamicConfigFile();
  const extra = Object.entries(opts.dynamicConfig ?? {});
  if (extra.length === 0) return base;
  if (!opts.workDir) throw new Error('dynamicConfig needs a workDir to write its file to');
  const text = fs.readFileSync(base, 'utf8');
  // JSON scalars are YAML scalars: no YAML library needed for `key: [{value, constraints}]`.
  const added = extra.map(([key, value]) => {
    if (new RegExp(`^${key.replace(/\./g, '\\.')}:`, 'm').test(text)) {
      throw new Error(`${key} is already set in ${base}`);
    }
    return `${key}:\n  - value: ${JSON.stringify(value)}\n    constraints: {}\n`;
  });
  const file = path.join(opts.workDir, 'dynamicconfig.yaml');
  fs.writeFileSync(file, `${text.trimEnd()}\n${added.join('')}`);
  return file;
}

/** Runs a job's POSIX sh script with only `env`; rejects with its last lines when it fails. */
function runScript(
  name: string,
  script: string,
  deadline: number,
  log: LogLine,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const recent: string[] = [];
    const onOutput = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        recent.push(line);
        if (recent.length > 12) recent.shift();
        log(`[${name}] ${line}`);
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(1000, deadline - Date.now()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`The ${name} job could not be started (${err.message}).`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const how = signal === 'SIGKILL' ? 'ran out of time' : `failed (${code ?? signal})`;
      reject(new Error(`The ${name} job ${how}:\n${recent.join('\n')}`));
    });
  });
}
