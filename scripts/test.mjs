#!/usr/bin/env node
// `npm test`: the whole suite in band on the Temporal dev server, then the server run (the
// integration tests that prove the product's promises, against the self-hosted Temporal server on
// PostgreSQL: jest.temporal-server.config.js), then the log scan (test/logs/, jest.logs.config.js)
// over what both runs' services logged into .test-logs/. Separate Jest runs, so the scan cannot
// start before the last test file is done. Arguments go to the suite's run; the server run and the
// scan run only when none of them narrows the suite (a path, -t, --onlyChanged, …), since part of
// a run proves nothing about the logs of all of it. With `--json --outputFile=F` (as .ci/run
// passes) F holds every run's results.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const JEST = require.resolve('jest/bin/jest');

/** Arguments that change how results are shown, not which tests run. */
const WHOLE_RUN_ARG = /^--(ci|json|silent|verbose|colors|no-colors|outputFile=.+)$/;

const args = process.argv.slice(2);
const outputFile = args.find((a) => a.startsWith('--outputFile='))?.slice('--outputFile='.length);

const jest = (jestArgs) =>
  spawnSync(process.execPath, [JEST, '--runInBand', ...jestArgs], { stdio: 'inherit' }).status ?? 1;

const suite = jest(args);
const narrowing = args.filter((a) => !WHOLE_RUN_ARG.test(a));
if (narrowing.length > 0) {
  console.log(
    `\nserver run and log scan skipped: ${narrowing.join(' ')} runs part of the suite ` +
      '(run them alone: npx jest --config jest.temporal-server.config.js, ' +
      'npx jest --config jest.logs.config.js after a whole run).',
  );
  process.exit(suite);
}

/** The same arguments, writing results to `<outputFile>.<suffix>.json` instead. */
const withOutput = (suffix) => {
  const file = outputFile && `${outputFile}.${suffix}.json`;
  return {
    file,
    args: args.map((a) => (a === `--outputFile=${outputFile}` ? `--outputFile=${file}` : a)),
  };
};

const server = withOutput('temporal-server');
const serverRun = jest(['--config', 'jest.temporal-server.config.js', ...server.args]);
if (outputFile && server.file) mergeResults(outputFile, server.file);
const scan = withOutput('logs');
const scanRun = jest(['--config', 'jest.logs.config.js', ...scan.args]);
if (outputFile && scan.file) mergeResults(outputFile, scan.file);
process.exit(suite || serverRun || scanRun);

/** Adds another run's Jest JSON results to the suite's, so one file tells the whole story. */
function mergeResults(into, from) {
  const read = (file) => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      return null;
    }
  };
  const a = read(into);
  const b = read(from);
  fs.rmSync(from, { force: true });
  if (!a || !b) return;
  for (const [key, value] of Object.entries(b)) {
    if (key.startsWith('num') && typeof value === 'number') a[key] = (a[key] ?? 0) + value;
  }
  a.success = Boolean(a.success && b.success);
  a.testResults = [...(a.testResults ?? []), ...(b.testResults ?? [])];
  fs.writeFileSync(into, JSON.stringify(a));
}
