// Self-hosted Temporal on PostgreSQL, the one recipe that docker-compose.yml runs, docs/deploy.md
// tells an operator to run, and the test suite's server run and `npm run bench -- --temporal=server`
// run here (src/dev/temporal-server.ts):
//   1. the schema job: `temporal-sql-tool` creates the `temporal` and `temporal_visibility`
//      databases and brings their schemas to the release's version (compose's `temporal-schema`);
//   2. the server: `temporal-server start` with no config file renders the server's built-in
//      config template from environment variables, exactly as the `temporalio/server` image runs;
//   3. the setup job: the namespace and the billing search attributes, with the `temporal` CLI
//      (compose's `temporal-setup`).
// test/infra/compose.test.ts holds compose and docs/deploy.md to these scripts and keys.
import path from 'node:path';

import { packageRoot } from '../temporal/binaries';
import { searchAttributeCliPairs } from '../temporal/search-attributes';

/** The persistence plugin (`DB`): PostgreSQL 12 or later. */
export const TEMPORAL_SQL_PLUGIN = 'postgres12';

/** History shards of a new cluster. Fixed for the cluster's life: choose before the first start. */
export const DEFAULT_HISTORY_SHARDS = 4;

/** Temporal's dynamic config, mounted by compose and used by the tests. */
export const DYNAMIC_CONFIG_FILE = path.join('deploy', 'temporal', 'dynamicconfig.yaml');

export function dynamicConfigFile(): string {
  return path.join(packageRoot(), DYNAMIC_CONFIG_FILE);
}

/** Where Temporal's PostgreSQL is, for the server and the schema tool. */
export interface TemporalPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** host, port, user and password of a `postgres://` URL. */
export function temporalPostgresOf(url: string): TemporalPostgres {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
}

/** The server's and the schema job's database settings (compose's `x-temporal-db`). */
export function temporalDatabaseEnv(pg: TemporalPostgres): Record<string, string> {
  return {
    DB: TEMPORAL_SQL_PLUGIN,
    DB_PORT: String(pg.port),
    POSTGRES_SEEDS: pg.host,
    POSTGRES_USER: pg.user,
    POSTGRES_PWD: pg.password,
  };
}

export interface TemporalServerSettings {
  postgres: TemporalPostgres;
  historyShards: number;
  /** The address the services listen on (compose: 0.0.0.0, its entrypoint broadcasts the host's). */
  bindOnIp: string;
  dynamicConfigFile: string;
}

/** The server's environment: every key its config template reads that this deployment sets. */
export function temporalServerEnv(s: TemporalServerSettings): Record<string, string> {
  return {
    ...temporalDatabaseEnv(s.postgres),
    NUM_HISTORY_SHARDS: String(s.historyShards),
    BIND_ON_IP: s.bindOnIp,
    DYNAMIC_CONFIG_FILE_PATH: s.dynamicConfigFile,
  };
}

/** The schema job's environment: the schema tool reads the password from SQL_PASSWORD. */
export function temporalSchemaEnv(pg: TemporalPostgres): Record<string, string> {
  return { ...temporalDatabaseEnv(pg), SQL_PASSWORD: pg.password };
}

/**
 * The schema job (POSIX sh). Safe to run again, also after an upgrade: existing databases and
 * version tables are kept, and `update-schema` applies only what is missing. TEMPORAL_SCHEMA_DIR
 * is where the release's `schema/` directory is (the admin-tools image has it at
 * /etc/temporal/schema).
 */
export const TEMPORAL_SCHEMA_SCRIPT = [
  'set -eu',
  'tool="temporal-sql-tool --plugin $DB --ep $POSTGRES_SEEDS -u $POSTGRES_USER -p $DB_PORT"',
  'schema="${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}/postgresql/v12"',
  ...['temporal', 'temporal_visibility'].flatMap((db) => [
    `$tool --db ${db} create || echo "database ${db} exists"`,
    `$tool --db ${db} setup-schema -v 0.0 || echo "schema of ${db} exists"`,
    `$tool --db ${db} update-schema -d "$schema/${db === 'temporal' ? 'temporal' : 'visibility'}/versioned"`,
  ]),
].join('\n');

/**
 * The setup job (POSIX sh, TEMPORAL_ADDRESS set): the namespace, then the billing search
 * attributes operators search by (SPEC §7). The worker adds missing search attributes at start-up
 * too; doing it here lets the Web UI show them at once. Safe to run again.
 */
export const TEMPORAL_SETUP_SCRIPT = [
  'set -eu',
  'namespace="${TEMPORAL_NAMESPACE:-default}"',
  '# Tries a command once a second for up to two minutes: the server may still be starting, and a',
  "# namespace just created reaches the server's namespace caches only after about 10 s.",
  'retry() {',
  '  tries=0',
  '  until "$@" >/dev/null 2>&1; do',
  '    tries=$((tries + 1))',
  '    if [ "$tries" -ge 120 ]; then echo "gave up waiting for: $*" >&2; return 1; fi',
  '    sleep 1',
  '  done',
  '}',
  'retry temporal operator cluster health',
  'temporal operator namespace describe --namespace "$namespace" >/dev/null 2>&1 \\',
  '  || temporal operator namespace create --namespace "$namespace" --retention 30d',
  'retry temporal operator search-attribute list --namespace "$namespace"',
  `for attribute in ${searchAttributeCliPairs().join(' ')}; do`,
  '  name="${attribute%%:*}"; type="${attribute##*:}"',
  '  if temporal operator search-attribute list --namespace "$namespace" | grep -qw "$name"; then',
  '    echo "$name already registered"',
  '  else',
  '    temporal operator search-attribute create --namespace "$namespace" --name "$name" --type "$type"',
  '  fi',
  'done',
].join('\n');
