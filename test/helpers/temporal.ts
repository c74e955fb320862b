// Temporal for tests: the time-skipping test server for workflow logic, the suite's shared dev
// server (started by global-setup) for anything that lists, searches or runs the whole service.
import { Client, Connection } from '@temporalio/client';
import {
  TestWorkflowEnvironment,
  type TimeSkippingTestWorkflowEnvironmentOptions,
} from '@temporalio/testing';

import { startTemporalDevServer, type TemporalDevServerHandle } from '../../src/dev/local-stack';
import { testServerExecutable } from '../../src/temporal/binaries';

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
