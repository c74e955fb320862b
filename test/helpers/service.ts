// The whole service (API + worker + delivery sweeper) as `npm start` wires it, on a fresh
// database of its own and the suite's Temporal dev server, listening on a free port.
import { randomBytes } from 'node:crypto';

import { WorkflowNotFoundError } from '@temporalio/client';

import { type Config, loadConfig } from '../../src/config';
import { unattributedAccountId } from '../../src/domain/account-id';
import { createLogger } from '../../src/log';
import { type Role, type Running, runServices } from '../../src/runtime';
import { accountWorkflowId } from '../../src/temporal/ids';
import { createTestDatabase, type TestDatabase } from './db';
import { SECRETS } from './secrets';
import { createTestLogger, openTestLog } from './test-logs';
import { workflowBundle } from './workflow-bundle';

export interface TestService {
  baseUrl: string;
  config: Config;
  db: TestDatabase;
  running: Running;
  stop(): Promise<void>;
  /** fetch with the admin token. */
  admin(path: string, init?: RequestInit): Promise<Response>;
}

export interface ServiceOptions {
  env?: Record<string, string>;
  role?: Role;
  /** Share a database with another service (e.g. an API that ran while Temporal was down). */
  db?: TestDatabase;
  sweepIntervalMs?: number;
  sweepMinAgeMs?: number;
  /** Accounts per sweep page. */
  sweepBatch?: number;
  /** How long the relay holds an account whose accepted wake-up is not applied yet. */
  deliveryHoldMs?: number;
  /**
   * Every line the service logs (JSON, debug level), e.g. to read what it logs. The lines go to
   * the run's log directory (test-logs.ts) either way.
   */
  onLogLine?: (line: string) => void;
  /** The Temporal Web UI the /ops page links to (the suite's dev server runs headless). */
  temporalUiUrl?: string;
  /** The notification catch-up's interval and what counts as overdue (defaults short). */
  notifyCatchUpMs?: number;
  notifyOverdueMs?: number;
}

export async function startService(opts: ServiceOptions = {}): Promise<TestService> {
  const db = opts.db ?? (await createTestDatabase());
  const config = loadConfig({
    DATABASE_URL: db.databaseUrl,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: process.env.TEST_TEMPORAL_NAMESPACE ?? 'default',
    TEMPORAL_TASK_QUEUE: `billing-test-${randomBytes(4).toString('hex')}`,
    STRIPE_WEBHOOK_SECRET: `${SECRETS.stripe},${SECRETS.stripeOld}`,
    MYASP_TOKEN: SECRETS.myasp,
    ADMIN_TOKEN: SECRETS.admin,
    GATE_TOKENS: `${SECRETS.gate},${SECRETS.gateOld}`,
    PORT: '0',
    LOG_LEVEL: 'debug',
    ...opts.env,
  });
  const role = opts.role ?? 'all';
  const log = openTestLog(role === 'all' ? 'service' : role);
  const onLogLine = opts.onLogLine;
  const sink = onLogLine
    ? {
        write: (line: string) => {
          log.write(line);
          onLogLine(line);
        },
      }
    : log;
  const running = await runServices(config, role, createLogger(config.logLevel, 'billing', sink), {
    workflowBundle: await workflowBundle(),
    migrate: false,
    schedules: false,
    sweepIntervalMs: opts.sweepIntervalMs ?? 300,
    sweepMinAgeMs: opts.sweepMinAgeMs ?? 200,
    sweepBatch: opts.sweepBatch,
    deliveryHoldMs: opts.deliveryHoldMs,
    temporalUiUrl: opts.temporalUiUrl,
    notifyCatchUpMs: opts.notifyCatchUpMs ?? 1000,
    notifyOverdueMs: opts.notifyOverdueMs ?? 500,
  });
  // Only on the suite's Temporal: a test may point the service at a private or unreachable one.
  if (!opts.db && config.temporalAddress === process.env.TEST_TEMPORAL_ADDRESS)
    await endSharedAccountWorkflows(running, config.taskQueue);
  const baseUrl = running.info.apiUrl ?? '';
  return {
    baseUrl,
    config,
    db,
    running,
    stop: async () => {
      await running.stop();
      if (!opts.db) await db.drop();
      await log.close();
    },
    admin: (path, init = {}) =>
      fetch(baseUrl + path, {
        ...init,
        headers: {
          authorization: `Bearer ${SECRETS.admin}`,
          'content-type': 'application/json',
          ...(init.headers ?? {}),
        },
      }),
  };
}

/**
 * Accounts whose ids every test database shares: events that name no account are stored under
 * `<provider>:unattributed` (src/domain/account-id.ts). The suite's services share one Temporal namespace, each on a task
 * queue of its own, so an earlier service may have left such an account's workflow polling a
 * queue nobody serves any more, remembering another database's event ids. A service on a fresh
 * database ends it, so its first wake-up starts the account's workflow on its own queue.
 */
const SHARED_ACCOUNTS = ['stripe', 'myasp'].map(unattributedAccountId);

async function endSharedAccountWorkflows(running: Running, taskQueue: string): Promise<void> {
  const { client } = running.temporalClient();
  for (const accountId of SHARED_ACCOUNTS) {
    const handle = client.workflow.getHandle(accountWorkflowId(accountId));
    try {
      const d = await handle.describe();
      if (d.status.name === 'RUNNING' && d.taskQueue !== taskQueue)
        await handle.terminate('a test service on a fresh database serves this account now');
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
}

/**
 * A worker process's services (`--role=worker`) for a service started with `role: 'api'`: the
 * same database and task queue, so it applies what that API stored. Stop it to have an API with
 * no worker again.
 */
export async function startWorkerFor(
  svc: TestService,
  env: Record<string, string> = {},
): Promise<Running> {
  const config = loadConfig({
    DATABASE_URL: svc.db.databaseUrl,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: svc.config.temporalNamespace,
    TEMPORAL_TASK_QUEUE: svc.config.taskQueue,
    MYASP_TOKEN: SECRETS.myasp,
    ADMIN_TOKEN: SECRETS.admin,
    WORKER_HEALTH_PORT: '0',
    ...env,
  });
  return runServices(config, 'worker', createTestLogger('worker').logger, {
    workflowBundle: await workflowBundle(),
    migrate: false,
    schedules: false,
  });
}
