// Wires the service together: local servers when nothing is configured, migrations, the worker,
// the HTTP API and the delivery sweeper; and takes it all down again in reverse order.
import http from 'node:http';
import path from 'node:path';

import { DefaultLogger, Runtime, type WorkflowBundleOption } from '@temporalio/worker';
import type pg from 'pg';

import type { StripeActivityDeps } from '../activities';
import { createActivities } from '../activities';
import type { Config } from './config';
import { listenOn } from './config/ports';
import { runMigrations } from './db/migrate';
import { createPool } from './db/pool';
import { EventDelivery } from './delivery/outbox';
import { createApp } from './http/app';
import { answerClientErrors } from './http/client-errors';
import { RejectionRecorder } from './http/rejection-recorder';
import type { Logger } from './log';
import { createMetrics } from './metrics';
import { configureEndpoint } from './notify/endpoints';
import { NotificationWaker } from './notify/waker';
import { createStripeApi } from './services/stripe-api';
import { ThinEventFetcher } from './services/thin-events';
import { applyThrough, type BillingTemporal, connectTemporal } from './temporal/client';
import { ensureDailyCheckSchedule, ensureReconcileSchedule } from './temporal/schedules';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { createBillingWorker } from './temporal/worker';
import { startWorkerHealth, type WorkerHealth } from './temporal/worker-health';

export type Role = 'all' | 'api' | 'worker';

export interface RuntimeInfo {
  role: Role;
  apiUrl: string | null;
  /** The worker's /healthz, /readyz and /metrics (worker role with WORKER_HEALTH_PORT set). */
  workerHealthUrl: string | null;
  temporalUiUrl: string | null;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  databaseUrl: string;
  databaseUrlRedacted: string;
}

export interface Running {
  info: RuntimeInfo;
  /** The Temporal client the service uses (tests and benchmarks look through it). */
  temporalClient(): BillingTemporal;
  /** The delivery outbox of an API process (null for a worker): tests await its events. */
  delivery: EventDelivery | null;
  /** The Stripe thin-event fetcher of an API process with STRIPE_API_KEY (else null). */
  thinEvents: ThinEventFetcher | null;
  /** What wakes the notification endpoints' workflows (API process; null for a worker). */
  notifications: NotificationWaker | null;
  stop(): Promise<void>;
}

export interface RuntimeOverrides {
  workflowBundle?: WorkflowBundleOption;
  /** Skip migrations (tests clone an already migrated template database). */
  migrate?: boolean;
  /** The Temporal Web UI for /ops links when the service did not start Temporal itself. */
  temporalUiUrl?: string;
  /** Skip the daily-check schedule (tests). */
  schedules?: boolean;
  /** Delivery sweeper interval and minimum age (tests make them short). */
  sweepIntervalMs?: number;
  sweepMinAgeMs?: number;
  /** Accounts per sweep page (tests make it small). */
  sweepBatch?: number;
  /** The relay's hold of an account whose accepted wake-up is not applied yet (tests). */
  deliveryHoldMs?: number;
  /** How often the thin-event fetcher looks for waiting thin events (tests make it short). */
  thinPollMs?: number;
  /** The notification catch-up's interval and what counts as overdue (tests make them short). */
  notifyCatchUpMs?: number;
  notifyOverdueMs?: number;
}

/** Stripe's API for reconciliation, only where STRIPE_API_KEY is set. */
function stripeDeps(config: Config, temporal: BillingTemporal): StripeActivityDeps | null {
  const { stripeApiKey, stripeApiUrl, concurrency } = config.reconcile;
  if (stripeApiKey === null) return null;
  return {
    api: (onRateLimited) =>
      createStripeApi({ apiKey: stripeApiKey, apiUrl: stripeApiUrl, onRateLimited }),
    apply: applyThrough(temporal),
    concurrency,
  };
}

/** Stripe thin events are fetched where webhooks are answered, only with STRIPE_API_KEY. */
function startThinEventFetcher(
  config: Config,
  pool: pg.Pool,
  delivery: EventDelivery,
  logger: Logger,
  pollMs: number | undefined,
): ThinEventFetcher | null {
  const { stripeApiKey, stripeApiUrl } = config.reconcile;
  if (stripeApiKey === null) return null;
  const fetcher = new ThinEventFetcher(pool, {
    apiKey: stripeApiKey,
    apiUrl: stripeApiUrl,
    pastDueGraceMs: config.pastDueGraceMs,
    wake: (event) => delivery.deliverSoon(event),
    logger,
    pollMs,
  });
  fetcher.start();
  return fetcher;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

type Stopper = () => Promise<unknown>;

let runtimeInstalled = false;

/** The SDK's own logs at WARN and above; our logs say what happened in billing terms. */
function installTemporalRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    // Shutdown order is ours (server, sweeper, worker, pools, servers): no SDK signal handlers.
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  } catch {
    // Already installed by the embedding process (tests, benchmarks): keep theirs.
  }
}

/**
 * The servers `npm start` runs itself in local mode (no DATABASE_URL / TEMPORAL_ADDRESS). src/dev
 * is loaded here, and only when one of them is missing: a production process never loads it.
 * (A dynamic import resolves as ECMAScript does, hence the `.js`; tsx maps it to the .ts file.)
 */
const loadLocalStack = () => import('./dev/local-stack.js');

/** One local stack per data directory: released last, after its servers have stopped. */
async function lockDataDir(config: Config, logger: Logger, stoppers: Stopper[]) {
  const { acquireInstanceLock } = await loadLocalStack();
  const lock = acquireInstanceLock(config.dataDir, (line) => logger.warn(line));
  stoppers.push(() => Promise.resolve(lock.release()));
  return lock;
}

async function ensureInfrastructure(config: Config, logger: Logger, stoppers: Stopper[]) {
  // First of all: a second start must not mistake the running instance's servers for leftovers.
  const lock =
    config.databaseUrl && config.temporalAddress
      ? null
      : await lockDataDir(config, logger, stoppers);
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    logger.info('starting embedded PostgreSQL under %s', path.join(config.dataDir, 'postgres'));
    const { startEmbeddedPostgres } = await loadLocalStack();
    const pg = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, 'postgres'),
      port: config.local.pgPort,
      persistent: true,
      warn: (line) => logger.warn(line),
      supervise: { warn: (line) => logger.warn(line) },
    });
    stoppers.push(() => pg.stop());
    databaseUrl = pg.databaseUrl;
  }
  let temporalAddress = config.temporalAddress;
  let temporalUiUrl: string | null = null;
  if (!temporalAddress) {
    logger.info('starting the Temporal dev server with its Web UI');
    const { startTemporalDevServer } = await loadLocalStack();
    const dev = await startTemporalDevServer({
      namespace: config.temporalNamespace,
      dbFilename: path.resolve(config.dataDir, 'temporal.db'),
      port: config.local.temporalPort,
      uiPort: config.local.temporalUiPort,
      supervise: { warn: (line) => logger.warn(line) },
    });
    stoppers.push(() => dev.stop());
    temporalAddress = dev.address;
    temporalUiUrl = dev.uiUrl;
  }
  return { databaseUrl, temporalAddress, temporalUiUrl, lock };
}

export async function runServices(
  config: Config,
  role: Role,
  logger: Logger,
  overrides: RuntimeOverrides = {},
): Promise<Running> {
  const stoppers: Stopper[] = [];
  const stop = async () => {
    for (const s of stoppers.reverse())
      await s().catch((err: unknown) => logger.warn({ err: String(err) }, 'stop step failed'));
  };
  try {
    const infra = await ensureInfrastructure(config, logger, stoppers);
    if (overrides.migrate !== false) {
      await runMigrations(infra.databaseUrl, (m) => logger.debug(m)).catch((err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(
          `PostgreSQL at ${redact(infra.databaseUrl)} could not be migrated (${reason}); check DATABASE_URL and that the server is up.`,
        );
      });
    }
    const pool = createPool(infra.databaseUrl, { statementTimeoutMs: config.dbStatementTimeoutMs });
    stoppers.push(() => pool.end());
    const temporal = connectTemporal({
      address: infra.temporalAddress,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      security: config.temporalSecurity,
    });
    stoppers.push(() => temporal.connection.close());

    let workerHealthUrl: string | null = null;
    if (role !== 'api') {
      installTemporalRuntime();
      const { worker, connection } = await createBillingWorker({
        address: infra.temporalAddress,
        namespace: config.temporalNamespace,
        taskQueue: config.taskQueue,
        activities: createActivities({
          pool,
          logger,
          stripe: stripeDeps(config, temporal),
          notify: { allowPrivate: config.notify.allowPrivate },
        }),
        workflowBundle: overrides.workflowBundle,
        security: config.temporalSecurity,
        shutdownGraceMs: config.worker.shutdownGraceMs,
        tuning: config.worker.tuning,
      });
      if (config.temporalAddress)
        await ensureSearchAttributes(temporal.connection, config.temporalNamespace);
      const done = worker.run();
      let health: WorkerHealth | undefined;
      // Registered before anything else can fail, so a failed start stops the worker too; the
      // health endpoint goes after it: probes see the worker draining, not gone.
      stoppers.push(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
        await connection.close();
        await health?.stop();
      });
      if (role === 'worker' && config.worker.healthPort !== null) {
        health = await startWorkerHealth(worker, pool, config.worker.healthPort);
        workerHealthUrl = health.url;
      }
      if (overrides.schedules !== false) {
        await ensureDailyCheckSchedule(temporal.client, { taskQueue: config.taskQueue });
        const { stripeApiKey, schedule } = config.reconcile;
        if (stripeApiKey !== null && schedule !== null) {
          const change = await ensureReconcileSchedule(temporal.client, {
            taskQueue: config.taskQueue,
            schedule,
          });
          if (change !== 'unchanged')
            logger.info({ schedule: schedule.text }, `Stripe reconciliation schedule ${change}`);
        }
      }
    }

    let apiUrl: string | null = null;
    let outbox: EventDelivery | null = null;
    let thinEvents: ThinEventFetcher | null = null;
    let waker: NotificationWaker | null = null;
    if (role !== 'worker') {
      waker = new NotificationWaker(pool, temporal, logger, {
        catchUpMs: overrides.notifyCatchUpMs,
        overdueMs: overrides.notifyOverdueMs,
        // NOTIFY_URL into the endpoints table; while PostgreSQL is down, at each catch-up.
        configure: () =>
          configureEndpoint(pool, config.notify.endpoint, config.notify.allowPrivate),
      });
      waker.start();
      const started = waker;
      stoppers.push(() => started.stop());
      const delivery = new EventDelivery(pool, temporal, logger, {
        waitMs: config.deliveryWaitMs,
        sweepIntervalMs: overrides.sweepIntervalMs,
        sweepMinAgeMs: overrides.sweepMinAgeMs,
        sweepBatch: overrides.sweepBatch,
        holdMs: overrides.deliveryHoldMs ?? config.deliveryHoldMs,
        maxInFlight: config.deliveryMaxInFlight,
      });
      delivery.start();
      stoppers.push(() => delivery.stop());
      outbox = delivery;
      thinEvents = startThinEventFetcher(config, pool, delivery, logger, overrides.thinPollMs);
      if (thinEvents) stoppers.push(() => thinEvents?.stop() ?? Promise.resolve());
      const metrics = createMetrics(pool);
      const rejections = new RejectionRecorder(pool, metrics, logger);
      stoppers.push(() => rejections.stop());
      const app = createApp({
        config,
        pool,
        temporal,
        delivery,
        thinEvents,
        metrics,
        rejections,
        logger,
        temporalUiUrl: infra.temporalUiUrl ?? overrides.temporalUiUrl ?? null,
        databaseUrl: infra.databaseUrl,
      });
      // Not app.listen(): Express 5 hands a listen error to the callback, which would resolve.
      const server = http.createServer(app);
      await listenOn(server, config.port, '0.0.0.0', { what: 'the API', setting: 'PORT' });
      answerClientErrors(server, { metrics, rejections, logger });
      stoppers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      apiUrl = `http://localhost:${port}`;
    }
    infra.lock?.update({ apiUrl });
    return {
      info: {
        role,
        apiUrl,
        workerHealthUrl,
        temporalUiUrl: infra.temporalUiUrl,
        temporalAddress: infra.temporalAddress,
        namespace: config.temporalNamespace,
        taskQueue: config.taskQueue,
        databaseUrl: infra.databaseUrl,
        databaseUrlRedacted: redact(infra.databaseUrl),
      },
      temporalClient: () => temporal,
      delivery: outbox,
      thinEvents,
      notifications: waker,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
