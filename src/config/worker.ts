// The worker process's own settings: its health port, how long a stop waits for activities, and
// the worker sizes an operator may override (WORKER_*).
import { parseDuration } from './duration';
import { type Env, value } from './env-values';
import { ConfigError } from './errors';

export interface WorkerSettings {
  /** Port of the worker's /healthz, /readyz and /metrics (worker role only); null: none. */
  healthPort: number | null;
  /** How long a stopping worker lets in-flight activities finish before cancelling them. */
  shutdownGraceMs: number;
  /** Worker tuning; absent values use the defaults in src/temporal/worker.ts (BENCHMARKS.md). */
  tuning: WorkerTuning;
}

/** Worker sizes an operator may override, each from a WORKER_* variable. */
export interface WorkerTuning {
  maxCachedWorkflows?: number;
  workflowTaskSlots?: number;
  activitySlots?: number;
  localActivitySlots?: number;
  workflowTaskPollers?: number;
  activityTaskPollers?: number;
}

const WORKER_TUNING_VARIABLES: Record<keyof WorkerTuning, string> = {
  maxCachedWorkflows: 'WORKER_MAX_CACHED_WORKFLOWS',
  workflowTaskSlots: 'WORKER_WORKFLOW_TASK_SLOTS',
  activitySlots: 'WORKER_ACTIVITY_SLOTS',
  localActivitySlots: 'WORKER_LOCAL_ACTIVITY_SLOTS',
  workflowTaskPollers: 'WORKER_WORKFLOW_TASK_POLLERS',
  activityTaskPollers: 'WORKER_ACTIVITY_TASK_POLLERS',
};

export function loadWorkerSettings(env: Env): WorkerSettings {
  const rawPort = value(env, 'WORKER_HEALTH_PORT');
  const healthPort = rawPort === undefined ? null : Number(rawPort);
  if (
    healthPort !== null &&
    (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535)
  ) {
    throw new ConfigError(
      'WORKER_HEALTH_PORT must be a port number between 0 (any free port) and 65535.',
    );
  }
  const rawGrace = value(env, 'WORKER_SHUTDOWN_GRACE');
  let shutdownGraceMs = 30_000;
  if (rawGrace !== undefined) {
    try {
      shutdownGraceMs = parseDuration(rawGrace) ?? 0;
    } catch {
      throw new ConfigError(
        `WORKER_SHUTDOWN_GRACE "${rawGrace}" is not a duration; use a value like 30s or 2m.`,
      );
    }
  }
  return { healthPort, shutdownGraceMs, tuning: loadWorkerTuning(env) };
}

function loadWorkerTuning(env: Env): WorkerTuning {
  const tuning: WorkerTuning = {};
  for (const [key, name] of Object.entries(WORKER_TUNING_VARIABLES) as [
    keyof WorkerTuning,
    string,
  ][]) {
    const raw = value(env, name);
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 2) {
      throw new ConfigError(`${name} "${raw}" is not a whole number of at least 2.`);
    }
    tuning[key] = n;
  }
  return tuning;
}
