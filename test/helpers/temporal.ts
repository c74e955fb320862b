// Temporal for tests: the time-skipping test server for workflow logic, the suite's shared server
// (started by global-setup: the dev server, or in the server run the self-hosted Temporal server)
// for anything that lists, searches or runs the whole service, and a private server of the same
// kind for a test that stops, kills or reconfigures one.
import fs from 'node:fs';
import path from 'node:path';

import { Client, Connection, isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import {
  TestWorkflowEnvironment,
  type TimeSkippingTestWorkflowEnvironmentOptions,
} from '@temporalio/testing';

import {
  makeThrowawayDir,
  type SelfHostedTemporalHandle,
  startSelfHostedTemporal,
  startTemporalDevServer,
  type TemporalDevServerHandle,
  temporalPostgresOf,
} from '../../src/dev/local-stack';
import { isAlive } from '../../src/dev/processes';
import { testServerExecutable } from '../../src/temporal/binaries';
import { accountWorkflowId } from '../../src/temporal/ids';
import { type ChildHandle, startHelperProcess, stopHelperProcess } from './child-process';
import type { TestService } from './service';
import { temporalUnderTest } from './temporal-kind';
import { openTestLog, type TestLogFile } from './test-logs';
import { waitFor } from './wait';

/** A time-skipping environment on the locally installed test server (downloads it otherwise). */
export function createTimeSkippingEnv(
  overrides: Omit<TimeSkippingTestWorkflowEnvironmentOptions, 'server'> = {},
): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    ...overrides,
    server: { executable: testServerExecutable() },
  });
}

export interface DevServerClient {
  connection: Connection;
  client: Client;
  namespace: string;
  /** Closes the connection (the server belongs to the suite). */
  close(): Promise<void>;
}

/** A client of the dev server started by global-setup (TEST_TEMPORAL_ADDRESS). */
export async function connectToDevServer(): Promise<DevServerClient> {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) {
    throw new Error(
      'TEST_TEMPORAL_ADDRESS is not set: run the tests through jest.config.js (its globalSetup starts Temporal).',
    );
  }
  const namespace = process.env.TEST_TEMPORAL_NAMESPACE ?? 'default';
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  return { connection, client, namespace, close: () => connection.close() };
}

export interface PrivateTemporal {
  /** `host:port`; the same after restart(). */
  readonly address: string;
  /** The server process now. */
  readonly pid: number;
  /** SIGKILL: no shutdown code runs; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM and wait, as a deploy or `docker compose stop` stops it. */
  shutDown(): Promise<void>;
  /** Starts it again on the same address and storage (after kill() or shutDown()). */
  restart(): Promise<void>;
  /** Stops it and removes its storage. */
  stop(): Promise<void>;
}

export interface PrivateTemporalOptions {
  /** Dynamic config, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 50 }`. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /**
   * The self-hosted server's PostgreSQL (a URL of any database there; compose shares one server
   * with the app). Default: a PostgreSQL of its own. The dev server keeps its SQLite file instead.
   */
  postgresUrl?: string;
}

/**
 * A Temporal server of this test's own, of the kind the suite runs on (temporalUnderTest()): the
 * dev server persisting to a SQLite file, or the self-hosted server persisting to PostgreSQL.
 * Survives kill() and restart() with its workflows. Call stop() in afterAll.
 */
export async function startPrivateTemporal(
  opts: PrivateTemporalOptions = {},
): Promise<PrivateTemporal> {
  const dir = makeThrowawayDir('billing-private-temporal-');
  const log = openTestLog('temporal');
  const removeDir = async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await log.close();
  };
  try {
    return temporalUnderTest() === 'server'
      ? await privateSelfHosted(dir, log, removeDir, opts)
      : await privateDevServer(dir, log, removeDir, opts);
  } catch (err) {
    await removeDir();
    throw err;
  }
}

async function privateDevServer(
  dir: string,
  log: TestLogFile,
  removeDir: () => Promise<void>,
  opts: PrivateTemporalOptions,
): Promise<PrivateTemporal> {
  const extraArgs = Object.entries(opts.dynamicConfig ?? {}).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${JSON.stringify(value)}`,
  ]);
  const settings = {
    namespace: 'default',
    headless: true,
    dbFilename: path.join(dir, 'temporal.db'),
    extraArgs,
    log: (line: string) => log.write(`${line}\n`),
  };
  let server: TemporalDevServerHandle = await startTemporalDevServer(settings);
  const port = Number(server.address.split(':')[1]);
  return privateHandle(server.address, () => server, {
    restart: async () => {
      server = await startTemporalDevServer({ ...settings, port });
    },
    cleanUp: removeDir,
  });
}

async function privateSelfHosted(
  dir: string,
  log: TestLogFile,
  removeDir: () => Promise<void>,
  opts: PrivateTemporalOptions,
): Promise<PrivateTemporal> {
  let postgres: ChildHandle<{ databaseUrl: string }> | undefined;
  if (!opts.postgresUrl) {
    postgres = await startHelperProcess('postgres-process.ts', [path.join(dir, 'postgres'), '0']);
  }
  const settings = {
    postgres: temporalPostgresOf(opts.postgresUrl ?? postgres?.ready.databaseUrl ?? ''),
    dynamicConfig: opts.dynamicConfig,
    workDir: dir,
    log: (line: string) => log.write(`${line}\n`),
  };
  let server: SelfHostedTemporalHandle;
  try {
    server = await startSelfHostedTemporal(settings);
  } catch (err) {
    await stopHelperProcess(postgres);
    throw err;
  }
  const { ports } = server;
  return privateHandle(server.address, () => server, {
    restart: async () => {
      server = await startSelfHostedTemporal({ ...settings, ports });
    },
    cleanUp: async () => {
      await stopHelperProcess(postgres);
      await removeDir();
    },
  });
}

function privateHandle(
  address: string,
  current: () => { pid: number; stop(): Promise<void> },
  how: { restart(): Promise<void>; cleanUp(): Promise<void> },
): PrivateTemporal {
  return {
    address,
    get pid() {
      return current().pid;
    },
    kill: async () => {
      const { pid } = current();
      process.kill(pid, 'SIGKILL');
      await waitFor(() => Promise.resolve(!isAlive(pid)), { what: `Temporal (pid ${pid}) gone` });
    },
    shutDown: () => current().stop(),
    restart: how.restart,
    stop: async () => {
      await current().stop();
      await how.cleanUp();
    },
  };
}

/** gRPC's status code NOT_FOUND: fetchHistory of a workflow that does not exist. */
const GRPC_NOT_FOUND = 5;

/**
 * Signals the account's workflow has received (its current run's history). Throws when it has no
 * workflow, unless `noWorkflowIsZero` (a test waiting for the first wake-up).
 */
export async function signalsReceived(
  svc: TestService,
  accountId: string,
  opts: { noWorkflowIsZero?: boolean } = {},
): Promise<number> {
  try {
    const history = await svc.running
      .temporalClient()
      .client.workflow.getHandle(accountWorkflowId(accountId))
      .fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  } catch (err) {
    const notFound =
      err instanceof WorkflowNotFoundError ||
      (isGrpcServiceError(err) && Number(err.code) === GRPC_NOT_FOUND);
    if (opts.noWorkflowIsZero && notFound) return 0;
    throw err;
  }
}
