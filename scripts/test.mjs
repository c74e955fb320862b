#!/usr/bin/env node
// `npm test`: the whole suite, then the log scan. The `unit` project first, in parallel workers
// and without servers; then, side by side, the `integration` project (workflows, integration,
// infra) in band on the PostgreSQL and Temporal dev server its global setup starts, and the server
// run — the integration tests that prove the product's promises, again on the self-hosted Temporal
// server on PostgreSQL (jest.temporal-server.config.js), a stack of its own. The in-band run
// leaves about 40% of two cores idle (it waits on servers, timers and restarts), which the server
// run fills; its output is kept and printed after the integration run's, so neither is
// interleaved. Then the scan (test/logs/, jest.logs.config.js) of what the runs' services logged
// into .test-logs/ — a run of its own, so it cannot start before the last test file is done.
// Arguments go to the suite's runs; when one narrows the suite (a path, -t, --selectProjects, …)
// they go to one run in band and the server run and the scan are skipped, since part of a run
// proves nothing about all of it. With `--json --outputFile=F` (as .ci/run passes) F holds every
// run's results.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const JEST = require.resolve('jest/bin/jest');

/** Arguments that change how results are shown, not which tests run. */
const WHOLE_RUN_ARG = /^--(ci|json|silent|verbose|colors|no-colors|outputFile=.+)$/;

const args = process.argv.slice(2);
const outputFile = args.find((a) => a.startsWith('--outputFile='))?.slice('--outputFile='.length);

/** The runs' log directory (test/helpers/test-logs.ts), emptied once per whole run. */
const TEST_LOG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '.test-logs');

/** Jest's arguments with the run's own output file (`F.<name>.json`) in place of F. */
function withOwnOutput(name, jestArgs) {
  const out = outputFile && `${outputFile}.${name}.json`;
  const withOut = jestArgs.map((a) =>
    a === `--outputFile=${outputFile}` ? `--outputFile=${out}` : a,
  );
  return { out, withOut };
}

/** Runs Jest; with an output file, each run writes its own next to it (`F.<name>.json`). */
function jest(name, jestArgs, env = process.env) {
  const { out, withOut } = withOwnOutput(name, jestArgs);
  const status =
    spawnSync(process.execPath, [JEST, ...withOut], { stdio: 'inherit', env }).status ?? 1;
  return { status, out };
}

/**
 * Runs Jest in the background with its output kept in a file; `done` prints it when the run has
 * ended, so it does not interleave with a run in the foreground.
 */
function jestInBackground(name, jestArgs, env) {
  const { out, withOut } = withOwnOutput(name, jestArgs);
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `jest-${name}-`)), 'output.log');
  const fd = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [JEST, ...withOut], { stdio: ['ignore', fd, fd], env });
  fs.closeSync(fd);
  const exited = new Promise((resolve) => {
    child.on('exit', (code) => resolve(code ?? 1));
    child.on('error', () => resolve(1));
  });
  const stop = () => child.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    done: async () => {
      const status = await exited;
      process.stdout.write(`\n==> the ${name} run (it ran beside the integration run)\n`);
      process.stdout.write(fs.readFileSync(logFile, 'utf8'));
      fs.rmSync(path.dirname(logFile), { recursive: true, force: true });
      return { status, out };
    },
  };
}

const narrowing = args.filter((a) => !WHOLE_RUN_ARG.test(a));
if (narrowing.length > 0) {
  const { status, out } = jest('part', ['--runInBand', ...args]);
  if (outputFile) mergeResults(outputFile, [out]);
  console.log(
    `\nserver run and log scan skipped: ${narrowing.join(' ')} runs part of the suite ` +
      '(run them alone: npx jest --config jest.temporal-server.config.js, ' +
      'npx jest --config jest.logs.config.js after a whole run).',
  );
  process.exit(status);
}

// Both server-backed runs add to one log directory: emptied here, not by their global setups.
fs.rmSync(TEST_LOG_DIR, { recursive: true, force: true });
fs.mkdirSync(TEST_LOG_DIR, { recursive: true });
const sharedLogs = { ...process.env, TEST_LOGS_KEEP: '1' };

const runs = [jest('unit', ['--selectProjects', 'unit', ...args])];
const serverRun = jestInBackground(
  'temporal-server',
  ['--config', 'jest.temporal-server.config.js', '--runInBand', ...args],
  sharedLogs,
);
runs.push(
  jest('integration', ['--selectProjects', 'integration', '--runInBand', ...args], sharedLogs),
);
runs.push(await serverRun.done());
runs.push(jest('logs', ['--config', 'jest.logs.config.js', ...args]));
if (outputFile)
  mergeResults(
    outputFile,
    runs.map((r) => r.out),
  );
process.exit(runs.find((r) => r.status !== 0)?.status ?? 0);

/** Jest's JSON results of several runs in one file, so it tells the whole story. */
function mergeResults(into, files) {
  const read = (file) => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      return null;
    }
  };
  let merged = null;
  for (const file of files) {
    const r = read(file);
    fs.rmSync(file, { force: true });
    if (!r) continue;
    if (!merged) {
      merged = r;
      continue;
    }
    for (const [key, value] of Object.entries(r)) {
      if (key.startsWith('num') && typeof value === 'number')
        merged[key] = (merged[key] ?? 0) + value;
    }
    merged.success = Boolean(merged.success && r.success);
    merged.testResults = [...(merged.testResults ?? []), ...(r.testResults ?? [])];
  }
  if (merged) fs.writeFileSync(into, JSON.stringify(merged));
}
