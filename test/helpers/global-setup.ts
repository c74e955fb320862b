// Starts the suite's PostgreSQL + Temporal once, in a child process (see stack-process.ts), and
// hands their addresses to every test file through process.env. Temporal is the dev server, or the
// self-hosted Temporal server on PostgreSQL when the Jest config's `globals.TEST_TEMPORAL` (see
// jest.temporal-server.config.js) or the environment's TEST_TEMPORAL says `server`. Empties the
// run's log directory first (test-logs.ts), so what is in it afterwards is this run's; a server
// run adds to it instead, since `npm test` runs it beside the dev-server run and scans both.
// Meanwhile it bundles the workflow code once for the whole run (test files read it from
// TEST_WORKFLOW_BUNDLE instead of each bundling it again: workflow-bundle.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import type { StackInfo } from './stack-process';
import { temporalKindOf } from './temporal-kind';
import { TEST_LOG_DIR } from './test-logs';
import { bundleQuietly } from './workflow-bundle';

const START_TIMEOUT_MS = 120_000;

// Dev-server flags for the whole suite, e.g. ['--dynamic-config-value', 'K=V']. A test that needs
// different settings starts its own server with startPrivateTemporal() from ./temporal.
const DEV_SERVER_EXTRA_ARGS: string[] = [];

export interface TestStack {
  child: ChildProcess;
  logFile: string;
  serverPids: number[];
  /** The directory of the run's workflow bundle. */
  bundleDir: string;
}

declare global {
  var __BILLING_TEST_STACK__: TestStack | undefined;
}

/** What Jest hands a global setup: the project's config (only `globals` is read). */
interface ProjectConfig {
  globals?: Record<string, unknown>;
}

export default async function globalSetup(_: unknown, project?: ProjectConfig): Promise<void> {
  const repoRoot = path.resolve(__dirname, '..', '..');
  const kind = temporalKindOf(project?.globals?.TEST_TEMPORAL ?? process.env.TEST_TEMPORAL);
  // `npm test` empties it once for its runs side by side (scripts/test.mjs, TEST_LOGS_KEEP).
  if (kind === 'dev' && !process.env.TEST_LOGS_KEEP)
    fs.rmSync(TEST_LOG_DIR, { recursive: true, force: true });
  fs.mkdirSync(TEST_LOG_DIR, { recursive: true });
  // A file, not a pipe: nobody reads the child's log while tests run, and a full pipe would block it.
  const logFile = path.join(
    TEST_LOG_DIR,
    kind === 'dev' ? 'stack.log' : `stack-temporal-${kind}.log`,
  );
  const logFd = fs.openSync(logFile, 'w');
  const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(
    process.execPath,
    ['--import', tsxLoader, path.join(__dirname, 'stack-process.ts'), ...DEV_SERVER_EXTRA_ARGS],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', logFd], env: { ...process.env, TEST_TEMPORAL: kind } },
  );
  fs.closeSync(logFd);
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-test-bundle-'));
  const stack: TestStack = { child, logFile, serverPids: [], bundleDir };
  globalThis.__BILLING_TEST_STACK__ = stack;

  const bundlePath = path.join(bundleDir, 'workflows.js');
  const [info] = await Promise.all([
    readReadyLine(child, logFile),
    bundleQuietly().then((b) => fs.writeFileSync(bundlePath, b.code)),
  ]);
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  stack.serverPids = info.pids;
  process.env.TEST_PG_ADMIN_URL = info.adminUrl;
  process.env.TEST_PG_TEMPLATE = info.templateDb;
  process.env.TEST_TEMPORAL = info.temporal;
  process.env.TEST_TEMPORAL_ADDRESS = info.temporalAddress;
  process.env.TEST_TEMPORAL_NAMESPACE = info.namespace;
}

function readReadyLine(child: ChildProcess, logFile: string): Promise<StackInfo> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const fail = (reason: string) => {
      cleanup();
      child.kill('SIGTERM');
      reject(
        new Error(
          `The test stack (PostgreSQL + Temporal) did not start: ${reason}\n${tail(logFile)}`,
        ),
      );
    };
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      cleanup();
      try {
        resolve(JSON.parse(buffered.slice(0, newline)) as StackInfo);
      } catch {
        fail(`unexpected output ${JSON.stringify(buffered.slice(0, 200))}`);
      }
    };
    const onExit = (code: number | null) => fail(`the stack process exited (code ${code}).`);
    const timer = setTimeout(
      () => fail(`no answer within ${START_TIMEOUT_MS / 1000} s.`),
      START_TIMEOUT_MS,
    );
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
