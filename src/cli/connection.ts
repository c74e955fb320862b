// Where the operator CLI connects. It reads the environment (through src/config.ts's
// `environment()`) but not the service's `loadConfig`: that validates the whole service
// configuration (secrets, admin token, ports) and refuses to load without them, while an operator
// running `daily-check` needs nothing but the database and Temporal addresses — and should not
// need the secrets at all.
// Temporal's TLS settings are read by the same function the service uses (loadTemporalSecurity),
// which needs no secrets.
//
// Order: the environment (DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_TASK_QUEUE), then `.data/runtime.json`, which `npm start` writes with the addresses of
// the local stack it started, so `npm run ops -- daily-check` works next to it unconfigured.
import fs from 'node:fs';
import path from 'node:path';

import { ConfigError, loadTemporalSecurity, type TemporalSecurity } from '../config';
import { environment } from '../config';

export interface ConnectionSettings {
  databaseUrl: string;
  /** null: no Temporal known; commands that need it say so. */
  temporalAddress: string | null;
  namespace: string;
  taskQueue: string;
  /** TLS, client certificate and API key (TEMPORAL_TLS_*, TEMPORAL_API_KEY), as the service reads them. */
  temporalSecurity: TemporalSecurity;
  /** Where the settings came from, for messages. */
  from: string;
}

/** Nothing to connect to; the message is one sentence for the operator. */
export class ConnectionSettingsError extends Error {
  override name = 'ConnectionSettingsError';
}

interface RuntimeFile {
  databaseUrl?: string;
  temporalAddress?: string;
  namespace?: string;
  taskQueue?: string;
}

const nonEmpty = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v : undefined;

/** `.data/runtime.json` from the working directory, else from this checkout's root. */
function findRuntimeFile(env: NodeJS.ProcessEnv, cwd: string): string | null {
  const dataDir = nonEmpty(env.DATA_DIR) ?? '.data';
  const candidates = [
    path.resolve(cwd, dataDir, 'runtime.json'),
    path.resolve(__dirname, '..', '..', dataDir, 'runtime.json'),
  ];
  return candidates.find((file) => fs.existsSync(file)) ?? null;
}

function readRuntimeFile(file: string): RuntimeFile {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return parsed !== null && typeof parsed === 'object' ? parsed : {};
  } catch {
    throw new ConnectionSettingsError(
      `${file} is not readable JSON; restart \`npm start\` to rewrite it, or set DATABASE_URL.`,
    );
  }
}

export function resolveConnection(
  env: NodeJS.ProcessEnv = environment(),
  cwd: string = process.cwd(),
): ConnectionSettings {
  const file = nonEmpty(env.DATABASE_URL) ? null : findRuntimeFile(env, cwd);
  const runtime = file ? readRuntimeFile(file) : {};
  const databaseUrl = nonEmpty(env.DATABASE_URL) ?? nonEmpty(runtime.databaseUrl);
  if (!databaseUrl) {
    throw new ConnectionSettingsError(
      'No database to connect to: set DATABASE_URL (and TEMPORAL_ADDRESS), or run `npm start` in this directory so it writes .data/runtime.json.',
    );
  }
  return {
    databaseUrl,
    temporalAddress: nonEmpty(env.TEMPORAL_ADDRESS) ?? nonEmpty(runtime.temporalAddress) ?? null,
    namespace: nonEmpty(env.TEMPORAL_NAMESPACE) ?? nonEmpty(runtime.namespace) ?? 'default',
    taskQueue: nonEmpty(env.TEMPORAL_TASK_QUEUE) ?? nonEmpty(runtime.taskQueue) ?? 'billing',
    temporalSecurity: securityFrom(env),
    from: file ?? 'environment',
  };
}

function securityFrom(env: NodeJS.ProcessEnv): TemporalSecurity {
  try {
    return loadTemporalSecurity(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConnectionSettingsError(err.message);
    throw err;
  }
}
