// The deployment shape of docs/deploy.md: API processes and worker processes apart. The API is
// ready without a worker beside it; the worker has its own /readyz and /metrics that show it is
// polling; and a worker that is told to stop finishes the activity it is running, takes no new
// task, and leaves the rest to the next worker.
import type { Running } from '../../src/runtime';
import { uid } from '../helpers/ids';
import { startService, startWorkerFor, type TestService } from '../helpers/service';
import { connectToDevServer, type DevServerClient } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

function startWorker(svc: TestService): Promise<Running> {
  return startWorkerFor(svc, {
    WORKER_SHUTDOWN_GRACE: '60s',
    // The shutdown test holds a row lock while the worker stops: give its statement time.
    DB_STATEMENT_TIMEOUT_MS: '60000',
  });
}

async function readyz(
  running: Running,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${running.info.workerHealthUrl ?? ''}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function register(svc: TestService, account: string): Promise<void> {
  const res = await svc.admin('/v1/accounts', {
    method: 'POST',
    body: JSON.stringify({ account_id: account, trial_days: 14 }),
  });
  expect(res.status).toBe(201);
}

async function outcome(svc: TestService, account: string, source: string) {
  const r = await svc.db.pool.query<{ outcome: string | null }>(
    'SELECT outcome FROM billing_events WHERE account_id = $1 AND source = $2 ORDER BY id DESC LIMIT 1',
    [account, source],
  );
  return r.rows[0]?.outcome;
}

describe('API and worker as separate processes', () => {
  let api: TestService;
  let temporal: DevServerClient;

  beforeAll(async () => {
    api = await startService({ role: 'api', sweepIntervalMs: 200, sweepMinAgeMs: 100 });
    temporal = await connectToDevServer();
  });

  afterAll(async () => {
    await temporal?.close();
    await api?.stop();
  });

  it('when only the API runs, then /readyz is ready without a worker beside it', async () => {
    expect(api.running.info.workerHealthUrl).toBeNull();
    const res = await fetch(`${api.baseUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, postgres: true, temporal: true });
  });

  it('when a worker process runs, then its /readyz and /metrics show it polling and Temporal lists it as a poller', async () => {
    const worker = await startWorker(api);
    try {
      const ready = await waitFor(
        async () => {
          const r = await readyz(worker);
          return r.status === 200 ? r : undefined;
        },
        { what: 'the worker to report that it polls' },
      );
      expect(ready.body).toMatchObject({
        ok: true,
        state: 'RUNNING',
        polling: { workflow: true, activity: true },
        postgres: true,
      });
      const metrics = await (await fetch(`${worker.info.workerHealthUrl ?? ''}/metrics`)).text();
      expect(metrics).toMatch(/^billing_worker_polling\{kind="workflow"\} 1$/m);
      expect(metrics).toMatch(/^billing_worker_polling\{kind="activity"\} 1$/m);
      const queue = await temporal.client.workflowService.describeTaskQueue({
        namespace: temporal.namespace,
        taskQueue: { name: api.config.taskQueue },
      });
      expect(queue.pollers?.length ?? 0).toBeGreaterThan(0);

      const account = uid('acct_split');
      await register(api, account);
      await waitFor(async () => (await outcome(api, account, 'api')) === 'applied', {
        what: 'the worker process to apply the registration stored by the API process',
      });
    } finally {
      await worker.stop();
    }
  });

  it('when a worker stops during an activity, then the activity finishes, no new task is taken, and the next worker applies the rest', async () => {
    const held = uid('acct_drain');
    const later = uid('acct_later');
    const first = await startWorker(api);
    let second: Running | undefined;
    const lock = await api.db.pool.connect();
    try {
      await register(api, held);
      await register(api, later);
      await waitFor(async () => (await outcome(api, later, 'api')) === 'applied', {
        what: 'both registrations to be applied',
      });
      expect(await outcome(api, held, 'api')).toBe('applied');

      // Hold the account row: the correction's applyTransition activity waits on it, in flight.
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM billing_accounts WHERE account_id = $1 FOR UPDATE', [held]);
      const corrected = api.admin(`/v1/accounts/${held}/corrections`, {
        method: 'POST',
        body: JSON.stringify({ status: 'active', reason: 'paid by bank transfer', actor: 'ops' }),
      });
      await waitFor(async () => ((await readyz(first)).body.in_flight_activities as number) > 0, {
        what: 'the correction to be in flight on the first worker',
      });

      const stopping = first.stop();
      const draining = await waitFor(
        async () => {
          const r = await readyz(first);
          return r.status === 503 ? r : undefined;
        },
        { what: 'the stopping worker to report itself not ready' },
      );
      expect(draining.body).toMatchObject({ ok: false, in_flight_activities: 1 });

      // Sent while the first worker drains: it must not take this task.
      const laterCorrection = await api.admin(`/v1/accounts/${later}/corrections`, {
        method: 'POST',
        body: JSON.stringify({ status: 'past_due', reason: 'chargeback', actor: 'ops' }),
      });
      expect(laterCorrection.status).toBeLessThan(300);

      await lock.query('COMMIT');
      await stopping;
      await corrected;
      // The in-flight activity was allowed to finish and commit, not cancelled.
      expect(await outcome(api, held, 'manual')).toBe('applied');
      // Nothing polls this task queue any more, so the later event is still waiting.
      expect(await outcome(api, later, 'manual')).toBeNull();

      second = await startWorker(api);
      await waitFor(async () => (await outcome(api, later, 'manual')) === 'applied', {
        what: 'the next worker to apply the event sent during the shutdown',
      });
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
      await second?.stop();
      await first.stop().catch(() => undefined);
    }
  });
});
