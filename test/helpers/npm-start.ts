// `npm start` as a user runs it: the real entry point src/main.ts in a child process, local mode
// (no DATABASE_URL / TEMPORAL_ADDRESS), its data under a directory of the test's choosing, every
// port picked free. Output is kept so a test can read the banner and the log lines, and goes to
// the run's log directory as well (test-logs.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { SECRETS } from './secrets';
import { recordChildOutput } from './test-logs';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(REPO_ROOT, 'src', 'main.ts');
/** Start-up bundles the workflows and may initialise PostgreSQL: generous on a busy 2-core box. */
export const START_TIMEOUT_MS = 90_000;

export interface StartedStack {
  child: ChildProcess;
  apiUrl: string;
  temporalAddress: string;
  /** stdout + stderr so far. */
  output(): string;
  admin(path: string, init?: RequestInit): Promise<Response>;
  /** Sends `signal` (default SIGINT, like Ctrl-C) and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  /** Working directory (where `.env` is looked for); default the data directory's parent. */
  cwd?: string;
  /** Added to the environment; the variables of the test process itself are not passed on. */
  env?: Record<string, string>;
  args?: string[];
}

/** The environment a user's shell would have: PATH and friends, none of the suite's settings. */
function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'USER', 'SHELL'];
  return Object.fromEntries(
    keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]),
  );
}

/** The settings `startLocalStack` runs with: data in `dataDir`, every port picked free. */
export function localStackEnv(dataDir: string): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    PORT: '0',
    LOCAL_PG_PORT: '0',
    LOCAL_TEMPORAL_PORT: '0',
    LOCAL_TEMPORAL_UI_PORT: '0',
    ADMIN_TOKEN: SECRETS.admin,
    STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
    MYASP_TOKEN: SECRETS.myasp,
    LOG_LEVEL: 'debug',
  };
}

export interface MainProcess {
  child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** stderr alone: what start-up tells the user (the logs go to stdout). */
  errors(): string;
  exited: Promise<number | null>;
}

export function spawnMain(opts: StartOptions & { cwd: string }): MainProcess {
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, MAIN, ...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: { ...baseEnv(), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  recordChildOutput(child, 'npm-start');
  let output = '';
  let errors = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    errors += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, output: () => output, errors: () => errors, exited };
}

/** Starts the local stack with its data in `dataDir` and waits for the banner. */
export async function startLocalStack(
  dataDir: string,
  opts: StartOptions = {},
): Promise<StartedStack> {
  const { child, output, exited } = spawnMain({
    cwd: opts.cwd ?? path.dirname(dataDir),
    args: opts.args,
    env: { ...localStackEnv(dataDir), ...opts.env },
  });
  const stop = async (signal: NodeJS.Signals = 'SIGINT') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  const banner = await new Promise<{ apiUrl: string; temporalAddress: string }>(
    (resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`npm start did not come up in time:\n${output()}`));
      }, START_TIMEOUT_MS);
      const check = () => {
        const api = /API:\s+(\S+)/.exec(output());
        const temporal = /Temporal:\s+(\S+)/.exec(output());
        if (api?.[1] && temporal?.[1]) {
          clearTimeout(timer);
          resolve({ apiUrl: api[1], temporalAddress: temporal[1] });
        }
      };
      child.stdout?.on('data', check);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with code ${code}:\n${output()}`));
      });
    },
  );
  return {
    child,
    ...banner,
    output,
    admin: (p, init = {}) =>
      fetch(`${banner.apiUrl}${p}`, {
        ...init,
        headers: {
          authorization: `Bearer ${SECRETS.admin}`,
          'content-type': 'application/json',
          ...(init.headers as Record<string, string> | undefined),
        },
      }),
    stop,
  };
}

/** Processes whose command line names `dir` (a postmaster on its data, a dev server on its SQLite file). */
export function processesUsing(dir: string): string[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .flatMap((pid) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return cmdline.includes(dir) ? [`${pid}: ${cmdline.trim()}`] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

/** The exit code; a process still running after `timeoutMs` is stopped (Ctrl-C) and the test fails. */
export async function exitCodeOf(
  main: MainProcess,
  timeoutMs = START_TIMEOUT_MS,
): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>(
    (resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)),
  );
  const first = await Promise.race([main.exited, late]);
  clearTimeout(timer);
  if (first !== 'late') return first;
  main.child.kill('SIGINT');
  await main.exited;
  throw new Error(`npm start did not exit within ${timeoutMs / 1000} s:\n${main.output()}`);
}
