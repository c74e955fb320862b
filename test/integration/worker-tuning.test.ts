// Worker sizes from WORKER_* settings reach the Temporal worker (src/temporal/worker.ts), against
// the suite's real Temporal dev server; unset ones keep the defaults BENCHMARKS.md measured.
import type { Activities } from '../../activities';
import { loadConfig } from '../../src/config';
import { createBillingWorker } from '../../src/temporal/worker';
import { workflowBundle } from '../helpers/workflow-bundle';

function temporalAddress(): string {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set: run the tests through jest.');
  return address;
}

let bundle: { code: string };

beforeAll(async () => {
  bundle = await workflowBundle();
});

async function workerWith(env: Record<string, string>) {
  const config = loadConfig({
    DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
    TEMPORAL_ADDRESS: temporalAddress(),
    ADMIN_TOKEN: 'x',
    STRIPE_WEBHOOK_SECRET: 'whsec_x',
    ...env,
  });
  return createBillingWorker({
    address: temporalAddress(),
    namespace: 'default',
    taskQueue: 'worker-tuning-test',
    activities: {} as Activities,
    workflowBundle: bundle,
    tuning: config.worker.tuning,
  });
}

describe('worker sizes', () => {
  it('when WORKER_* sizes are set, then the worker runs with each of them', async () => {
    const { worker, connection } = await workerWith({
      WORKER_MAX_CACHED_WORKFLOWS: '321',
      WORKER_WORKFLOW_TASK_SLOTS: '7',
      WORKER_LOCAL_ACTIVITY_SLOTS: '9',
      WORKER_ACTIVITY_SLOTS: '11',
      WORKER_WORKFLOW_TASK_POLLERS: '3',
      WORKER_ACTIVITY_TASK_POLLERS: '2',
    });
    try {
      const o = worker.options;
      expect(o.maxCachedWorkflows).toBe(321);
      expect(o.tuner).toMatchObject({
        workflowTaskSlotSupplier: { numSlots: 7 },
        localActivityTaskSlotSupplier: { numSlots: 9 },
        activityTaskSlotSupplier: { numSlots: 11 },
      });
      expect(o.workflowTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 3 });
      expect(o.activityTaskPollerBehavior).toEqual({ type: 'simple-maximum', maximum: 2 });
    } finally {
      // Run and stop at once: a worker that never ran keeps the process from exiting.
      await worker.runUntil(Promise.resolve());
      await connection.close();
    }
  });
});
