// Helper scripts of test/helpers (service-process.ts, postgres-process.ts) as real child
// processes, for tests that SIGKILL them: the kernel's view of a crash, not a polite stop().
// Their output goes to the run's log directory as well (test-logs.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { SECRETS } from './secrets';
import { recordChildOutput } from './test-logs';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const START_TIMEOUT_MS = 90_000;

export interface ChildHandle<T> {
  child: ChildProcess;
  ready: T;
  exited: { code: number | null; signal: NodeJS.Signals | null } | null;
  /** The last lines the child wrote to stderr (its log). */
  stderr: string[];
}

const LOG_KIND = {
  'service-process.ts': 'service-process',
  'postgres-process.ts': 'postgres-process',
} as const;

/** Runs a test/helpers script under tsx and waits for the one JSON line it prints when ready. */
export function startHelperProcess<T>(
  script: keyof typeof LOG_KIND,
  args: string[],
  env: Record<string, string> = {},
): Promise<ChildHandle<T>> {
  const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(
    process.execPath,
    ['--import', tsxLoader, path.join(REPO_ROOT, 'test', 'helpers', script), ...args],
    { cwd: REPO_ROOT, env: { ...process.env, ...env } },
  );
  recordChildOutput(child, LOG_KIND[script], { skipFirstStdoutLine: true });
  const handle = { child, exited: null, stderr: [] } as unknown as ChildHandle<T>;
  child.stderr?.on('data', (chunk: Buffer) => {
    const lines = chunk.toString('utf8').split('\n').filter(Boolean);
    handle.stderr.push(...lines);
    handle.stderr.splice(0, Math.max(0, handle.stderr.length - 60));
  });
  child.once('exit', (code, signal) => (handle.exited = { code, signal }));
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start within ${START_TIMEOUT_MS / 1000} s.`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      child.stdout?.off('data', onData);
      clearTimeout(timer);
      handle.ready = JSON.parse(buffered.slice(0, newline)) as T;
      resolve(handle);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`${script} exited (code ${code}) while starting:\n${handle.stderr.join('\n')}`),
      );
    });
  });
}

/** SIGTERM and wait for the exit (nothing to do when it is already gone). */
export async function stopHelperProcess(handle: ChildHandle<unknown> | undefined): Promise<void> {
  if (!handle || handle.exited) return;
  const exited = new Promise((resolve) => handle.child.once('exit', resolve));
  handle.child.kill('SIGTERM');
  await exited;
}

/** SIGKILL: no shutdown code runs, open connections and transactions die with the process. */
export async function killHard(handle: ChildHandle<unknown>): Promise<void> {
  if (handle.exited) return;
  const exited = new Promise((resolve) => handle.child.once('exit', resolve));
  handle.child.kill('SIGKILL');
  await exited;
}

export type ServiceChild = ChildHandle<{ apiUrl: string | null; pid: number }>;

export interface ServiceProcessOptions {
  databaseUrl: string;
  taskQueue: string;
  role?: 'all' | 'api' | 'worker';
  /** A fixed port, so a restarted service answers where the old one did (default: any). */
  port?: number;
  temporalAddress?: string;
  migrate?: boolean;
  env?: Record<string, string>;
}

/** The service (or one role of it) as a process of its own, with the suite's test secrets. */
export function startServiceProcess(opts: ServiceProcessOptions): Promise<ServiceChild> {
  const args = [`--role=${opts.role ?? 'all'}`, ...(opts.migrate ? ['--migrate'] : [])];
  return startHelperProcess('service-process.ts', args, {
    DATABASE_URL: opts.databaseUrl,
    TEMPORAL_ADDRESS: opts.temporalAddress ?? process.env.TEST_TEMPORAL_ADDRESS ?? '',
    TEMPORAL_NAMESPACE: process.env.TEST_TEMPORAL_NAMESPACE ?? 'default',
    TEMPORAL_TASK_QUEUE: opts.taskQueue,
    STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
    MYASP_TOKEN: SECRETS.myasp,
    ADMIN_TOKEN: SECRETS.admin,
    PORT: String(opts.port ?? 0),
    LOG_LEVEL: 'debug',
    ...opts.env,
  });
}
