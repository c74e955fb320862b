// The worker: runs the account workflows and their activities on one task queue.
import {
  NativeConnection,
  Worker,
  type WorkerOptions as SdkWorkerOptions,
  type WorkflowBundleOption,
} from '@temporalio/worker';

import type { Activities } from '../../activities';
import type { TemporalSecurity, WorkerTuning } from '../config';
import { temporalConnectionSecurity } from './client';
import { diagnoseTemporalError, recognizeTemporalError } from './connection-errors';

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** TLS, client certificate and API key; plaintext when absent. */
  security?: TemporalSecurity;
  /** How long a stopping worker lets in-flight activities finish before cancelling them. */
  shutdownGraceMs?: number;
  /** A prebuilt bundle (tests bundle once per file); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkflowBundleOption;
  /** Sizes from WORKER_* settings; each absent one takes its default below. */
  tuning?: WorkerTuning;
}

/**
 * Worker sizes. Each default is the SDK's unless BENCHMARKS.md ("Worker and dev-server tuning")
 * measured something better; the WORKER_* settings override them per deployment.
 */
export function workerSizes(tuning: WorkerTuning = {}): Partial<SdkWorkerOptions> {
  const sizes: Partial<SdkWorkerOptions> = {};
  const t = tuning;
  if (t.maxCachedWorkflows !== undefined) sizes.maxCachedWorkflows = t.maxCachedWorkflows;
  if (t.workflowTaskSlots !== undefined) {
    sizes.maxConcurrentWorkflowTaskExecutions = t.workflowTaskSlots;
  }
  if (t.activitySlots !== undefined) sizes.maxConcurrentActivityTaskExecutions = t.activitySlots;
  if (t.localActivitySlots !== undefined) {
    sizes.maxConcurrentLocalActivityExecutions = t.localActivitySlots;
  }
  if (t.workflowTaskPollers !== undefined) {
    sizes.workflowTaskPollerBehavior = { type: 'simple-maximum', maximum: t.workflowTaskPollers };
  }
  if (t.activityTaskPollers !== undefined) {
    sizes.activityTaskPollerBehavior = { type: 'simple-maximum', maximum: t.activityTaskPollers };
  }
  return sizes;
}

export const WORKFLOWS_PATH = require.resolve('../../workflows');

export async function createBillingWorker(
  opts: WorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const target = { address: opts.address, namespace: opts.namespace, security: opts.security };
  const connection = await NativeConnection.connect({
    address: opts.address,
    ...temporalConnectionSecurity(opts.security),
  }).catch(async (err: unknown) => {
    throw await diagnoseTemporalError(err, target);
  });
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: opts.namespace,
      taskQueue: opts.taskQueue,
      activities: opts.activities,
      // Shutdown stops polling at once; activities already running get this long to finish (their
      // transaction commits or rolls back whole either way), then they are cancelled.
      shutdownGraceTime: opts.shutdownGraceMs ?? 30_000,
      ...workerSizes(opts.tuning),
      ...(opts.workflowBundle
        ? { workflowBundle: opts.workflowBundle }
        : { workflowsPath: WORKFLOWS_PATH }),
    });
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw recognizeTemporalError(err, target) ?? err;
  }
  return { worker, connection };
}
