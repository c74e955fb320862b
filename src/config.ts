// The only reader of process.env. Validated once at start-up; a bad or missing setting becomes
// one sentence (ConfigError), never a stack trace. The parts that need no process.env live in
// src/config/: the .env file, the schema of the plain settings, durations, TLS, the worker's and
// reconciliation's settings; they are handed the environment this module reads.
import { parseDuration } from './config/duration';
import { readEnvFileInto } from './config/env-file';
import { ConfigError } from './config/errors';
import { type ReconcileSettings, reconcileSettingsFrom } from './config/reconcile';
import { envSchema, firstIssue, list, type LogLevel } from './config/schema';
import { checkDatabaseTls, loadTemporalSecurity, type TemporalSecurity } from './config/tls';
import { loadWorkerSettings, type WorkerSettings } from './config/worker';

export { ConfigError } from './config/errors';
export { ENV_FILE } from './config/env-file';
export { parseDuration } from './config/duration';
export { checkDatabaseTls, loadTemporalSecurity } from './config/tls';
export type { TemporalSecurity, TemporalTls } from './config/tls';
export type { WorkerSettings, WorkerTuning } from './config/worker';
export type { ReconcileSchedule, ReconcileSettings } from './config/reconcile';

/**
 * The process environment, for the few places that pass it on or read PATH (a child process,
 * the binary lookup, the CLI's connection defaults): this module stays the only reader.
 */
export function environment(): NodeJS.ProcessEnv {
  return process.env;
}

/** Local mode: neither DATABASE_URL nor TEMPORAL_ADDRESS names a server of the user's. */
export function isLocalMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env.DATABASE_URL && !env.TEMPORAL_ADDRESS;
}

/** Where `npm start` keeps its local data (DATA_DIR, default `.data`). */
export function dataDirOf(env: NodeJS.ProcessEnv = process.env): string {
  return env.DATA_DIR ?? '.data';
}

/**
 * Reads `.env` from `dir` into `env` (Node's own parser, as `process.loadEnvFile` uses); a
 * variable already set in the environment wins. Returns the file read, or null when there is none.
 */
export function loadEnvFile(
  dir: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  return readEnvFileInto(dir, env);
}

export interface Config {
  databaseUrl: string | null;
  temporalAddress: string | null;
  temporalNamespace: string;
  taskQueue: string;
  stripeWebhookSecrets: string[];
  stripeApiKey: string | null;
  myaspTokens: string[];
  adminToken: string;
  /** GATE_TOKENS: read-only tokens for host apps (the gate and one account's read). */
  gateTokens: string[];
  port: number;
  gatedActions: string[];
  defaultTrialDays: number;
  pastDueGraceMs: number | null;
  stripeToleranceSeconds: number;
  deliveryWaitMs: number;
  /** How long the relay holds an account whose accepted wake-up is not applied yet (0: never). */
  deliveryHoldMs: number;
  /** Wake-ups in flight at once per relaying process (sent, or accepted and not yet applied). */
  deliveryMaxInFlight: number;
  dbStatementTimeoutMs: number;
  /** Admin API requests per client address and minute. */
  adminRateLimitPerMinute: number;
  /** Gate and account reads per token and minute (not counted against the admin budget). */
  gateRateLimitPerMinute: number;
  /** Failed authentications per client address and minute before refusals become 429. */
  authFailureLimitPerMinute: number;
  dataDir: string;
  local: { pgPort: number; temporalPort: number; temporalUiPort: number };
  logLevel: LogLevel;
  /** TLS, client certificate and API key for TEMPORAL_ADDRESS (src/config/tls.ts). */
  temporalSecurity: TemporalSecurity;
  /** Worker process: health port and graceful shutdown (src/config/worker.ts). */
  worker: WorkerSettings;
  /** Stripe reconciliation: API access and the daily schedule (src/config/reconcile.ts). */
  reconcile: ReconcileSettings;
  /** Notifications to the host app (SPEC §10): the endpoint configured at start-up, if any. */
  notify: NotifySettings;
}

export interface NotifySettings {
  /** NOTIFY_URL with its NOTIFY_SECRET (`whsec_…`); null when unset. */
  endpoint: { url: string; secret: string } | null;
  /** Loopback and private addresses allowed: NOTIFY_ALLOW_PRIVATE=true, or local mode. */
  allowPrivate: boolean;
}

export interface LoadOptions {
  /** Secrets generated for a local run (`npm start` with nothing configured). */
  devSecrets?: { stripeWebhookSecret: string; myaspToken: string; adminToken: string };
}

/** GATED_ACTIONS (default `confirm`); a never-gated action listed is one clear line. */
function gatedActionsOf(raw: string | undefined): string[] {
  const gatedActions = raw === undefined ? ['confirm'] : list(raw);
  const neverGated = gatedActions.filter((a) => a === 'propose' || a === 'vote');
  if (neverGated.length > 0) {
    throw new ConfigError(
      `GATED_ACTIONS lists ${neverGated.join(' and ')}, which ${neverGated.length > 1 ? 'are' : 'is'} never gated; remove ${neverGated.length > 1 ? 'them' : 'it'} (the default is confirm).`,
    );
  }
  return gatedActions;
}

/** The service's GATED_ACTIONS alone, for commands that compare against the gate in force. */
export function loadGatedActions(env: NodeJS.ProcessEnv = process.env): string[] {
  return gatedActionsOf(env.GATED_ACTIONS);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: LoadOptions = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(firstIssue(parsed.error));
  const e = parsed.data;
  const dev = opts.devSecrets;
  const adminToken = e.ADMIN_TOKEN ?? dev?.adminToken;
  if (!adminToken) {
    throw new ConfigError(
      'ADMIN_TOKEN is not set; set it to a long random string (see .env.example).',
    );
  }
  const stripeWebhookSecrets = list(e.STRIPE_WEBHOOK_SECRET ?? dev?.stripeWebhookSecret);
  const myaspTokens = list(e.MYASP_TOKEN ?? dev?.myaspToken);
  if (stripeWebhookSecrets.length === 0 && myaspTokens.length === 0) {
    throw new ConfigError(
      'Neither STRIPE_WEBHOOK_SECRET nor MYASP_TOKEN is set; set the one for each provider you use (see .env.example).',
    );
  }
  const gateTokens = list(e.GATE_TOKENS);
  if (gateTokens.includes(adminToken)) {
    throw new ConfigError(
      'GATE_TOKENS contains ADMIN_TOKEN; a gate token is read-only and must differ from the admin token (see .env.example).',
    );
  }
  const gatedActions = gatedActionsOf(e.GATED_ACTIONS);
  return {
    databaseUrl: e.DATABASE_URL || null,
    temporalAddress: e.TEMPORAL_ADDRESS || null,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    stripeWebhookSecrets,
    stripeApiKey: e.STRIPE_API_KEY || null,
    myaspTokens,
    adminToken,
    gateTokens,
    port: e.PORT,
    gatedActions,
    defaultTrialDays: e.DEFAULT_TRIAL_DAYS,
    pastDueGraceMs: parseDuration(e.PAST_DUE_GRACE),
    stripeToleranceSeconds: e.STRIPE_TOLERANCE_SECONDS,
    deliveryWaitMs: e.DELIVERY_WAIT_MS,
    deliveryHoldMs: e.DELIVERY_HOLD_MS,
    deliveryMaxInFlight: e.DELIVERY_MAX_IN_FLIGHT,
    dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    adminRateLimitPerMinute: e.ADMIN_RATE_LIMIT_PER_MINUTE,
    gateRateLimitPerMinute: e.GATE_RATE_LIMIT_PER_MINUTE,
    authFailureLimitPerMinute: e.AUTH_FAILURE_LIMIT_PER_MINUTE,
    dataDir: e.DATA_DIR,
    local: {
      pgPort: e.LOCAL_PG_PORT,
      temporalPort: e.LOCAL_TEMPORAL_PORT,
      temporalUiPort: e.LOCAL_TEMPORAL_UI_PORT,
    },
    logLevel: e.LOG_LEVEL,
    ...loadProductionSettings(env, e.TEMPORAL_ADDRESS || null, e.DATABASE_URL || null),
    reconcile: loadReconcileSettings(env),
    notify: notifySettings(e),
  };
}

const WHSEC = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

function notifySettings(e: {
  NOTIFY_URL?: string;
  NOTIFY_SECRET?: string;
  NOTIFY_ALLOW_PRIVATE: 'true' | 'false';
  DATABASE_URL?: string;
  TEMPORAL_ADDRESS?: string;
}): NotifySettings {
  const allowPrivate =
    e.NOTIFY_ALLOW_PRIVATE === 'true' || (!e.DATABASE_URL && !e.TEMPORAL_ADDRESS);
  const url = e.NOTIFY_URL || null;
  const secret = e.NOTIFY_SECRET || null;
  if (url === null && secret === null) return { endpoint: null, allowPrivate };
  if (url === null)
    throw new ConfigError('NOTIFY_SECRET is set but NOTIFY_URL is not; set the URL to notify.');
  if (secret === null)
    throw new ConfigError(
      'NOTIFY_URL is set but NOTIFY_SECRET is not; set a Standard Webhooks secret (whsec_ followed by base64).',
    );
  if (!WHSEC.test(secret))
    throw new ConfigError(
      'NOTIFY_SECRET must be a Standard Webhooks secret: whsec_ followed by base64 (e.g. whsec_ plus 24 random bytes in base64).',
    );
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
    throw new ConfigError('NOTIFY_URL must be an http:// or https:// URL.');
  return { endpoint: { url, secret }, allowPrivate };
}

function loadProductionSettings(
  env: NodeJS.ProcessEnv,
  temporalAddress: string | null,
  databaseUrl: string | null,
): Pick<Config, 'temporalSecurity' | 'worker'> {
  const temporalSecurity = loadTemporalSecurity(env);
  if (temporalSecurity.tls && !temporalAddress) {
    throw new ConfigError(
      'Temporal TLS or API key settings are set but TEMPORAL_ADDRESS is not; set the address of the cluster they belong to (the local dev server speaks plaintext).',
    );
  }
  if (databaseUrl) checkDatabaseTls(databaseUrl);
  return { temporalSecurity, worker: loadWorkerSettings(env) };
}

/** Stripe reconciliation's settings (STRIPE_API_KEY, STRIPE_API_URL, RECONCILE_*). */
export function loadReconcileSettings(env: NodeJS.ProcessEnv = process.env): ReconcileSettings {
  return reconcileSettingsFrom(env);
}
