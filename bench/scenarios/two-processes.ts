// Everything on the box, as two processes: the API (`--role=api`, here in the bench process) and
// the worker (`npm run worker`, `src/main.ts --role=worker`, a child process), against the same
// PostgreSQL and Temporal. The acknowledgements at concurrency 16 while the worker applies them,
// then the time until every one is applied. The worker has an event loop of its own, so its
// turns do not delay the API's answers; the two cores are still shared.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

import type pg from 'pg';

import { type Figure, latencies } from '../figure';
import { ADMIN, drained, SECRET } from '../load';
import { webhooks } from '../load-plan';
import { tuningSettingsFromEnv } from '../options';

export interface WorkerProcess {
  pid: number;
  stop(): Promise<void>;
}

/** Starts `src/main.ts --role=worker` on `queue` and waits until it says it is running. */
export async function startWorkerProcess(
  databaseUrl: string,
  temporalAddress: string,
  queue: string,
): Promise<WorkerProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-bench-worker-'));
  const child = fork(path.join(__dirname, '..', '..', 'src', 'main.ts'), ['--role=worker'], {
    // tsx by its path: the process runs in a directory of its own (no .env of the checkout).
    execArgv: ['--import', pathToFileURL(require.resolve('tsx')).href],
    cwd: dataDir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_TASK_QUEUE: queue,
      STRIPE_WEBHOOK_SECRET: SECRET,
      ADMIN_TOKEN: ADMIN,
      PORT: '0',
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      ...tuningSettingsFromEnv(),
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('is running (worker)')) resolve();
    });
    void exited.then((code) =>
      reject(new Error(`the worker process exited (code ${code}) before it was running.`)),
    );
  });
  return {
    pid: child.pid ?? 0,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TwoProcessRun {
  pool: pg.Pool;
  classicUrl: string;
  /** The API process's Stripe webhook URL (its worker runs elsewhere). */
  url: string;
  tag: string;
  requests: number;
}

/** Acknowledgements at concurrency 16 over 1,000 accounts with the worker applying meanwhile. */
export async function twoProcesses(run: TwoProcessRun): Promise<Figure> {
  const job = (to: string, prefix: string) => webhooks(to, { prefix, modulo: 1000 }, run.requests);
  const base = await job(`${run.classicUrl}/webhooks/stripe`, `k${run.tag}_pair_`);
  const prefix = `p${run.tag}_`;
  const ours = await job(run.url, prefix);
  const answered = performance.now();
  await drained(run.pool, prefix);
  return {
    value: ours.perSecond,
    baseline: base.perSecond,
    baseline_label: 'classic, concurrency 16, the same load just before',
    unit: 'acks/s',
    extra: {
      ...latencies(ours, base),
      drain_seconds_after: (performance.now() - answered) / 1000,
    },
  };
}
