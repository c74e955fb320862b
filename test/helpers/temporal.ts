// Temporal for tests: the time-skipping test server for workflow logic, the suite's shared dev
// server (started by global-setup) for anything that lists, searches or runs the whole service.
import { Client, Connection, isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import {
  TestWorkflowEnvironment,
  type TimeSkippingTestWorkflowEnvironmentOptions,
} from '@temporalio/testing';

import { startTemporalDevServer, type TemporalDevServerHandle } from '../../src/dev/local-stack';
import { testServerExecutable } from '../../src/temporal/binaries';
import { accountWorkflowId } from '../../src/temporal/ids';
import type { TestService } from './service';

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

/**
 * A dev server of this test's own, for settings the shared one must not have, e.g.
 * `['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=50']`. Call stop() in afterAll.
 */
export function startDevServerForTest(extraArgs: string[] = []): Promise<TemporalDevServerHandle> {
  return startTemporalDevServer({ namespace: 'default', headless: true, extraArgs });
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
