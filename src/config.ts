// The only reader of process.env. Validated once at start-up; a bad or missing setting becomes
// one sentence (ConfigError), never a stack trace.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { parseDurationMs } from './domain/duration';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const ENV_FILE = '.env';

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

const ENV_LINE = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=(.*)$/;
const QUOTES = ['"', "'", '`'];

/**
 * The first line Node's .env parser would drop or misread without a word (it skips such lines
 * and can swallow the next ones), so that start-up can stop instead of running half-configured.
 */
function envFileProblem(text: string): { line: number; problem: string } | null {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    const value = ENV_LINE.exec(line)?.[1]?.trimStart();
    if (value === undefined) return { line: i + 1, problem: 'is not of the form NAME=value' };
    const quote = value[0] ?? '';
    if (!QUOTES.includes(quote) || value.indexOf(quote, 1) > 0) continue;
    const closing = lines.findIndex((later, j) => j > i && later.includes(quote));
    if (closing < 0) return { line: i + 1, problem: `opens a ${quote} quote that is never closed` };
    i = closing;
  }
  return null;
}

/**
 * Reads `.env` from `dir` into `env` (Node's own parser, as `process.loadEnvFile` uses); a
 * variable already set in the environment wins. Returns the file read, or null when there is none.
 */
export function loadEnvFile(
  dir: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  const file = path.resolve(dir, ENV_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new ConfigError(`${file} could not be read (${code ?? String(err)}); fix or remove it.`);
  }
  const found = envFileProblem(text);
  if (found) {
    // The line itself is not shown: it may hold a secret.
    throw new ConfigError(
      `${file} line ${found.line} ${found.problem}; fix that line or remove the file (see .env.example).`,
    );
  }
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined && value !== undefined) env[name] = value;
  }
  return file;
}

/** A duration setting (src/domain/duration.ts) in milliseconds; null for empty/none. */
export function parseDuration(raw: string | undefined): number | null {
  try {
    return parseDurationMs(raw);
  } catch {
    throw new ConfigError(
      `PAST_DUE_GRACE "${raw}" is not a duration; use a value like 3d, 72h or P3D, or leave it empty for no grace.`,
    );
  }
}

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const port = (name: string, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const n = Number(v ?? fallback);
      if (!Number.isInteger(n) || n < 0 || n > 65535) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a port number between 0 (any free port) and 65535.`,
        });
      }
      return n;
    });

const positiveInt = (name: string, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const n = Number(v ?? fallback);
      if (!Number.isInteger(n) || n < 0) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number of 0 or more.` });
      }
      return n;
    });

const schema = z.object({
  DATABASE_URL: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('billing'),
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  STRIPE_API_KEY: z.string().optional(),
  MYASP_TOKEN: z.string().optional(),
  ADMIN_TOKEN: z.string().optional(),
  PORT: port('PORT', 3000),
  GATED_ACTIONS: z.string().optional(),
  DEFAULT_TRIAL_DAYS: positiveInt('DEFAULT_TRIAL_DAYS', 14),
  PAST_DUE_GRACE: z.string().optional(),
  STRIPE_TOLERANCE_SECONDS: positiveInt('STRIPE_TOLERANCE_SECONDS', 300),
  DELIVERY_WAIT_MS: positiveInt('DELIVERY_WAIT_MS', 0),
  DB_STATEMENT_TIMEOUT_MS: positiveInt('DB_STATEMENT_TIMEOUT_MS', 5000),
  ADMIN_RATE_LIMIT_PER_MINUTE: positiveInt('ADMIN_RATE_LIMIT_PER_MINUTE', 600),
  AUTH_FAILURE_LIMIT_PER_MINUTE: positiveInt('AUTH_FAILURE_LIMIT_PER_MINUTE', 60),
  DATA_DIR: z.string().default('.data'),
  LOCAL_PG_PORT: port('LOCAL_PG_PORT', 54329),
  LOCAL_TEMPORAL_PORT: port('LOCAL_TEMPORAL_PORT', 7233),
  LOCAL_TEMPORAL_UI_PORT: port('LOCAL_TEMPORAL_UI_PORT', 8233),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  databaseUrl: string | null;
  temporalAddress: string | null;
  temporalNamespace: string;
  taskQueue: string;
  stripeWebhookSecrets: string[];
  stripeApiKey: string | null;
  myaspTokens: string[];
  adminToken: string;
  port: number;
  gatedActions: string[];
  defaultTrialDays: number;
  pastDueGraceMs: number | null;
  stripeToleranceSeconds: number;
  deliveryWaitMs: number;
  dbStatementTimeoutMs: number;
  /** Admin API requests per client address and minute. */
  adminRateLimitPerMinute: number;
  /** Failed authentications per client address and minute before refusals become 429. */
  authFailureLimitPerMinute: number;
  dataDir: string;
  local: { pgPort: number; temporalPort: number; temporalUiPort: number };
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  /** TLS, client certificate and API key for TEMPORAL_ADDRESS (see the production block below). */
  temporalSecurity: TemporalSecurity;
  /** Worker process: health port and graceful shutdown (see the production block below). */
  worker: WorkerSettings;
  /** Stripe reconciliation: API access and the daily schedule (see the block at the end). */
  reconcile: ReconcileSettings;
}

export interface LoadOptions {
  /** Secrets generated for a local run (`npm start` with nothing configured). */
  devSecrets?: { stripeWebhookSecret: string; myaspToken: string; adminToken: string };
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const name = issue?.path.join('.') ?? 'setting';
  return issue?.code === 'custom' ? issue.message : `${name} is invalid: ${issue?.message ?? ''}`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: LoadOptions = {}): Config {
  const parsed = schema.safeParse(env);
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
  const gatedActions = e.GATED_ACTIONS === undefined ? ['confirm'] : list(e.GATED_ACTIONS);
  const neverGated = gatedActions.filter((a) => a === 'propose' || a === 'vote');
  if (neverGated.length > 0) {
    throw new ConfigError(
      `GATED_ACTIONS lists ${neverGated.join(' and ')}, which ${neverGated.length > 1 ? 'are' : 'is'} never gated; remove ${neverGated.length > 1 ? 'them' : 'it'} (the default is confirm).`,
    );
  }
  return {
    databaseUrl: e.DATABASE_URL || null,
    temporalAddress: e.TEMPORAL_ADDRESS || null,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    stripeWebhookSecrets,
    stripeApiKey: e.STRIPE_API_KEY || null,
    myaspTokens,
    adminToken,
    port: e.PORT,
    gatedActions,
    defaultTrialDays: e.DEFAULT_TRIAL_DAYS,
    pastDueGraceMs: parseDuration(e.PAST_DUE_GRACE),
    stripeToleranceSeconds: e.STRIPE_TOLERANCE_SECONDS,
    deliveryWaitMs: e.DELIVERY_WAIT_MS,
    dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    adminRateLimitPerMinute: e.ADMIN_RATE_LIMIT_PER_MINUTE,
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
  };
}

// =============================================================================================
// Production connectivity: a Temporal cluster behind TLS, client certificates (mTLS) or an API
// key (Temporal Cloud), PostgreSQL over TLS, and the worker process's own settings.
//
// The TEMPORAL_TLS_* and TEMPORAL_API_KEY names are Temporal's own client environment
// configuration, so the `temporal` CLI pointed at the same cluster reads the same variables.
// Certificates are read here, once, at start-up: a missing, unreadable or mismatched file stops
// start-up with one line naming the variable, never the file's contents.
// =============================================================================================

export interface TemporalTls {
  /** TLS server name (SNI and certificate check) when it differs from the address's host. */
  serverNameOverride?: string;
  /** CA of the server's certificate; unset: the system's trusted CAs (Temporal Cloud). */
  serverRootCACertificate?: Buffer;
  /** The client certificate and its key, for mTLS. */
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface TemporalSecurity {
  /** null: plaintext (the local dev server, or a cluster reached inside a private network). */
  tls: TemporalTls | null;
  /** Temporal Cloud API key, sent as `Authorization: Bearer …`; implies TLS. */
  apiKey: string | null;
}

export interface WorkerSettings {
  /** Port of the worker's /healthz, /readyz and /metrics (worker role only); null: none. */
  healthPort: number | null;
  /** How long a stopping worker lets in-flight activities finish before cancelling them. */
  shutdownGraceMs: number;
  /** Worker tuning; absent values use the defaults in src/temporal/worker.ts (BENCHMARKS.md). */
  tuning: WorkerTuning;
}

/** Worker sizes an operator may override, each from a WORKER_* variable. */
export interface WorkerTuning {
  maxCachedWorkflows?: number;
  workflowTaskSlots?: number;
  activitySlots?: number;
  localActivitySlots?: number;
  workflowTaskPollers?: number;
  activityTaskPollers?: number;
}

const WORKER_TUNING_VARIABLES: Record<keyof WorkerTuning, string> = {
  maxCachedWorkflows: 'WORKER_MAX_CACHED_WORKFLOWS',
  workflowTaskSlots: 'WORKER_WORKFLOW_TASK_SLOTS',
  activitySlots: 'WORKER_ACTIVITY_SLOTS',
  localActivitySlots: 'WORKER_LOCAL_ACTIVITY_SLOTS',
  workflowTaskPollers: 'WORKER_WORKFLOW_TASK_POLLERS',
  activityTaskPollers: 'WORKER_ACTIVITY_TASK_POLLERS',
};

type Env = NodeJS.ProcessEnv;

const value = (env: Env, name: string): string | undefined => {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
};

/** PEM text from an env value: literal `\n` sequences (one-line .env files) become newlines. */
const pemFromEnv = (raw: string) => Buffer.from(raw.replace(/\\n/g, '\n').trim() + '\n');

function readPem(env: Env, base: string, what: string): Buffer | undefined {
  const pathVar = `${base}_PATH`;
  const dataVar = `${base}_DATA`;
  const file = value(env, pathVar);
  const data = value(env, dataVar);
  if (file && data) {
    throw new ConfigError(`Both ${pathVar} and ${dataVar} are set; keep one of them.`);
  }
  if (data) {
    const pem = pemFromEnv(data);
    if (!pem.includes('-----BEGIN ')) {
      throw new ConfigError(
        `${dataVar} does not hold a PEM ${what} (it must start with -----BEGIN).`,
      );
    }
    return pem;
  }
  if (!file) return undefined;
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'cannot be read by this user (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `cannot be read (${code ?? 'error'})`;
    throw new ConfigError(`${pathVar} names ${file}, which ${why}; point it at the PEM ${what}.`);
  }
  if (!pem.includes('-----BEGIN ')) {
    throw new ConfigError(`${pathVar} names ${file}, which is not a PEM ${what}.`);
  }
  return pem;
}

function certificate(pem: Buffer, name: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(`${name} is not a readable X.509 certificate in PEM form.`);
  }
}

function checkClientPair(crt: Buffer, key: Buffer, now: Date): void {
  const cert = certificate(crt, 'The Temporal client certificate (TEMPORAL_TLS_CLIENT_CERT_*)');
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(
      'The Temporal client key (TEMPORAL_TLS_CLIENT_KEY_*) is not an unencrypted PEM private key.',
    );
  }
  if (!cert.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      'The Temporal client key (TEMPORAL_TLS_CLIENT_KEY_*) does not belong to the client certificate (TEMPORAL_TLS_CLIENT_CERT_*).',
    );
  }
  if (new Date(cert.validTo) < now) {
    throw new ConfigError(
      `The Temporal client certificate (TEMPORAL_TLS_CLIENT_CERT_*) expired on ${new Date(cert.validTo).toISOString()}; issue a new one.`,
    );
  }
}

function booleanSetting(env: Env, name: string): boolean | undefined {
  const raw = value(env, name)?.toLowerCase();
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false.`);
}

/**
 * Reads TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH|DATA, TEMPORAL_TLS_CLIENT_KEY_PATH|DATA,
 * TEMPORAL_TLS_SERVER_CA_CERT_PATH|DATA, TEMPORAL_TLS_SERVER_NAME and TEMPORAL_API_KEY. Used by
 * the service (through loadConfig) and by the operator CLI, which has no other settings.
 */
export function loadTemporalSecurity(env: Env, now: Date = new Date()): TemporalSecurity {
  const apiKey = value(env, 'TEMPORAL_API_KEY')?.trim() ?? null;
  const crt = readPem(env, 'TEMPORAL_TLS_CLIENT_CERT', 'certificate');
  const key = readPem(env, 'TEMPORAL_TLS_CLIENT_KEY', 'private key');
  const ca = readPem(env, 'TEMPORAL_TLS_SERVER_CA_CERT', 'CA certificate');
  const serverName = value(env, 'TEMPORAL_TLS_SERVER_NAME')?.trim();
  if (crt && !key) {
    throw new ConfigError(
      'A Temporal client certificate is set but no key: set TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA) too.',
    );
  }
  if (key && !crt) {
    throw new ConfigError(
      'A Temporal client key is set but no certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA) too.',
    );
  }
  if (crt && key) checkClientPair(crt, key, now);
  if (ca) certificate(ca, 'The Temporal server CA (TEMPORAL_TLS_SERVER_CA_CERT_*)');
  const explicit = booleanSetting(env, 'TEMPORAL_TLS');
  const wantsTls = Boolean(apiKey || crt || ca || serverName);
  if (explicit === false && wantsTls) {
    throw new ConfigError(
      'TEMPORAL_TLS is false, but a client certificate, server CA, server name or API key is set; remove TEMPORAL_TLS=false or those settings.',
    );
  }
  if (!(explicit ?? wantsTls)) return { tls: null, apiKey: null };
  const tls: TemporalTls = {};
  if (serverName) tls.serverNameOverride = serverName;
  if (ca) tls.serverRootCACertificate = ca;
  if (crt && key) tls.clientCertPair = { crt, key };
  return { tls, apiKey };
}

const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/**
 * DATABASE_URL over TLS uses the libpq parameters (`sslmode`, `sslrootcert`, `sslcert`,
 * `sslkey`); the driver reads those files when it connects, so check them here instead.
 */
export function checkDatabaseTls(databaseUrl: string): void {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new ConfigError(
      'DATABASE_URL is not a URL; use postgres://user:password@host:5432/database.',
    );
  }
  const mode = url.searchParams.get('sslmode');
  if (mode !== null && !SSL_MODES.includes(mode)) {
    throw new ConfigError(
      `DATABASE_URL has sslmode=${mode}; use one of ${SSL_MODES.join(', ')} (verify-full for a managed PostgreSQL).`,
    );
  }
  for (const param of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = url.searchParams.get(param);
    if (file === null) continue;
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch {
      throw new ConfigError(
        `DATABASE_URL's ${param} names ${file}, which does not exist or cannot be read.`,
      );
    }
  }
}

function loadWorkerSettings(env: Env): WorkerSettings {
  const rawPort = value(env, 'WORKER_HEALTH_PORT');
  const healthPort = rawPort === undefined ? null : Number(rawPort);
  if (
    healthPort !== null &&
    (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535)
  ) {
    throw new ConfigError(
      'WORKER_HEALTH_PORT must be a port number between 0 (any free port) and 65535.',
    );
  }
  const rawGrace = value(env, 'WORKER_SHUTDOWN_GRACE');
  let shutdownGraceMs = 30_000;
  if (rawGrace !== undefined) {
    try {
      shutdownGraceMs = parseDuration(rawGrace) ?? 0;
    } catch {
      throw new ConfigError(
        `WORKER_SHUTDOWN_GRACE "${rawGrace}" is not a duration; use a value like 30s or 2m.`,
      );
    }
  }
  return { healthPort, shutdownGraceMs, tuning: loadWorkerTuning(env) };
}

function loadWorkerTuning(env: Env): WorkerTuning {
  const tuning: WorkerTuning = {};
  for (const [key, name] of Object.entries(WORKER_TUNING_VARIABLES) as [
    keyof WorkerTuning,
    string,
  ][]) {
    const raw = value(env, name);
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 2) {
      throw new ConfigError(`${name} "${raw}" is not a whole number of at least 2.`);
    }
    tuning[key] = n;
  }
  return tuning;
}

function loadProductionSettings(
  env: Env,
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

// ---------------------------------------------------------------------------------------------
// Reconciliation with Stripe's API. Optional: without STRIPE_API_KEY, webhooks and everything
// else work as before and only `reconcile` (and its schedule) is unavailable. Read on its own so
// the operator CLI needs no webhook secrets to reconcile.

/** When the daily Stripe reconciliation runs: a time of day or a cron spec, in a time zone. */
export type ReconcileSchedule =
  | { kind: 'daily'; hour: number; minute: number; timezone: string; text: string }
  | { kind: 'cron'; expression: string; timezone: string; text: string };

export interface ReconcileSettings {
  stripeApiKey: string | null;
  /** Another API base (stripe-mock, a proxy); null: api.stripe.com. */
  stripeApiUrl: string | null;
  /** Accounts reconciled at the same time. */
  concurrency: number;
  /** The daily run (a Temporal Schedule, only with STRIPE_API_KEY); null: RECONCILE_SCHEDULE=off. */
  schedule: ReconcileSchedule | null;
}

const CRON_FIELD = /^[0-9*,/-]+$|^[A-Za-z]{3}(-[A-Za-z]{3})?$/;

function loadReconcileSchedule(env: NodeJS.ProcessEnv): ReconcileSchedule | null {
  const timezone = (env.RECONCILE_TIMEZONE ?? '').trim() || 'Asia/Tokyo';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new ConfigError(
      `RECONCILE_TIMEZONE "${timezone}" is not an IANA time zone; use a name like Asia/Tokyo or UTC.`,
    );
  }
  const raw = (env.RECONCILE_SCHEDULE ?? '').trim() || '03:30';
  if (raw.toLowerCase() === 'off') return null;
  const time = /^(\d{1,2}):(\d{2})$/.exec(raw);
  if (time) {
    const hour = Number(time[1]);
    const minute = Number(time[2]);
    if (hour <= 23 && minute <= 59) {
      const hhmm = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
      return { kind: 'daily', hour, minute, timezone, text: `${hhmm} ${timezone}` };
    }
  }
  const fields = raw.split(/\s+/);
  if (!time && fields.length === 5 && fields.every((f) => CRON_FIELD.test(f))) {
    const expression = fields.join(' ');
    return { kind: 'cron', expression, timezone, text: `cron "${expression}" ${timezone}` };
  }
  throw new ConfigError(
    `RECONCILE_SCHEDULE "${raw}" is neither a time of day (HH:MM, e.g. 03:30) nor a cron spec of five fields (e.g. "30 3 * * *"), nor off.`,
  );
}

export function loadReconcileSettings(env: NodeJS.ProcessEnv = process.env): ReconcileSettings {
  const apiUrl = (env.STRIPE_API_URL ?? '').trim();
  if (apiUrl !== '' && !/^https?:\/\/[^/]+\/?$/.test(apiUrl)) {
    throw new ConfigError(
      `STRIPE_API_URL "${apiUrl}" is not a base URL; use a form like https://api.stripe.com or http://127.0.0.1:12111.`,
    );
  }
  const concurrency = Number(env.RECONCILE_CONCURRENCY ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 25) {
    throw new ConfigError('RECONCILE_CONCURRENCY must be a whole number from 1 to 25.');
  }
  return {
    stripeApiKey: (env.STRIPE_API_KEY ?? '').trim() || null,
    stripeApiUrl: apiUrl || null,
    concurrency,
    schedule: loadReconcileSchedule(env),
  };
}
