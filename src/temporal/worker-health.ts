// The worker process's own health endpoint (`npm run worker` has no API): /healthz (the process
// is up), /readyz (the worker is running and has polls outstanding for workflow and activity
// tasks, and PostgreSQL answers) and /metrics (the same as gauges). A stopping worker is not
// ready: it takes no new tasks while it lets in-flight activities finish.
import http from 'node:http';

import type { Worker } from '@temporalio/worker';
import type pg from 'pg';
import { Gauge, Registry } from 'prom-client';

import { listenOn } from '../config/ports';

export interface WorkerHealth {
  url: string;
  stop(): Promise<void>;
}

export interface WorkerReadiness {
  ok: boolean;
  state: string;
  polling: { workflow: boolean; activity: boolean };
  in_flight_activities: number;
  postgres: boolean;
}

export async function readWorkerReadiness(worker: Worker, pool: pg.Pool): Promise<WorkerReadiness> {
  const status = worker.getStatus();
  const polling = {
    workflow: status.workflowPollerState === 'POLLING',
    activity: status.activityPollerState === 'POLLING',
  };
  const postgres = await pool.query('SELECT 1').then(
    () => true,
    () => false,
  );
  return {
    ok: status.runState === 'RUNNING' && polling.workflow && polling.activity && postgres,
    state: status.runState,
    polling,
    in_flight_activities: status.numInFlightActivities,
    postgres,
  };
}

function workerMetrics(worker: Worker): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'billing_worker_polling',
    help: '1 while the worker polls its task queue for this kind of task',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const s = worker.getStatus();
      this.set({ kind: 'workflow' }, s.workflowPollerState === 'POLLING' ? 1 : 0);
      this.set({ kind: 'activity' }, s.activityPollerState === 'POLLING' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'billing_worker_in_flight_activities',
    help: 'Activities this worker is running now',
    registers: [registry],
    collect() {
      this.set(worker.getStatus().numInFlightActivities);
    },
  });
  new Gauge({
    name: 'billing_worker_cached_workflows',
    help: 'Account workflows held in this worker’s cache',
    registers: [registry],
    collect() {
      this.set(worker.getStatus().numCachedWorkflows);
    },
  });
  return registry;
}

/** Listens on `port` (0: any free port) on all interfaces, for the orchestrator's probes. */
export async function startWorkerHealth(
  worker: Worker,
  pool: pg.Pool,
  port: number,
): Promise<WorkerHealth> {
  const registry = workerMetrics(worker);
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const route = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') return send(405, '{"error":{"code":"method_not_allowed"}}');
    if (route === '/healthz') return send(200, '{"ok":true}');
    if (route === '/readyz') {
      void readWorkerReadiness(worker, pool).then((r) => send(r.ok ? 200 : 503, JSON.stringify(r)));
      return;
    }
    if (route === '/metrics') {
      void registry.metrics().then((text) => send(200, text, registry.contentType));
      return;
    }
    send(404, '{"error":{"code":"not_found","message":"Use /healthz, /readyz or /metrics."}}');
  });
  await listenOn(server, port, '0.0.0.0', {
    what: "the worker's health endpoint",
    setting: 'WORKER_HEALTH_PORT',
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://localhost:${actual}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
