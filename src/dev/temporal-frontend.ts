// Waits until a Temporal server's frontend answers (and, when named, serves the namespace), or the
// server exits, or the deadline passes: the readiness check of the local Temporal servers.
import { Connection } from '@temporalio/client';

import { canConnect, delay } from './processes';

export interface FrontendWait {
  /** How the server is named in errors, e.g. `The Temporal dev server`. */
  name: string;
  /** When set, the namespace must be served too. */
  namespace?: string;
  timeoutMs: number;
  /** Why the server is not running, or undefined while it runs. */
  exitReason: () => string | undefined;
}

export async function waitUntilServing(address: string, wait: FrontendWait): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  const [host, portText] = address.split(':') as [string, string];
  let lastError: unknown;
  while (Date.now() < deadline) {
    const exit = wait.exitReason();
    if (exit) throw new Error(`${wait.name} ${exit}.`);
    if (await canConnect(host, Number(portText))) {
      try {
        await checkServing(address, wait.namespace, deadline - Date.now());
        return;
      } catch (err) {
        lastError = err;
      }
    }
    await delay(200);
  }
  const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(
    `${wait.name} did not answer on ${address} within ${Math.round(wait.timeoutMs / 1000)} s${reason}.`,
  );
}

async function checkServing(
  address: string,
  namespace: string | undefined,
  timeoutMs: number,
): Promise<void> {
  // lazy + close in `finally`: a failed Connection.connect() would leave its channel open.
  const connection = Connection.lazy({ address });
  // Short attempts: the caller retries until its deadline and notices an early exit in between.
  const deadline = Date.now() + Math.max(1000, Math.min(timeoutMs, 5_000));
  try {
    await connection.withDeadline(deadline, async () => {
      await connection.workflowService.getSystemInfo({});
      if (namespace) await connection.workflowService.describeNamespace({ namespace });
    });
  } finally {
    await connection.close();
  }
}
