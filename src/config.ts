// The only reader of process.env. Validated once at start-up; a bad or missing setting becomes
// one sentence (ConfigError), never a stack trace.
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const ENV_FILE = '.env';

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

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `90s`, `30m`, `12h`, `3d`, `PT12H`, `P3D`; returns milliseconds, or null for empty/none. */
export function parseDuration(raw: string | undefined): number | null {
  const text = (raw ?? '').trim().toLowerCase();
  if (text === '' || text === 'none' || text === '0') return null;
  const simple = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text);
  if (simple) return Math.round(Number(simple[1]) * (DURATION_UNITS[simple[2] ?? 'ms'] ?? 1));
  const iso = /^p(?:(\d+)d)?(?:t(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?)?$/.exec(text);
  if (iso && text !== 'p' && text !== 'pt') {
    const [, d, h, m, s] = iso.map((v) => Number(v ?? 0));
    return (d ?? 0) * 86_400_000 + (h ?? 0) * 3_600_000 + (m ?? 0) * 60_000 + (s ?? 0) * 1_000;
  }
  throw new ConfigError(
    `PAST_DUE_GRACE "${raw}" is not a duration; use a value like 3d, 72h or P3D, or leave it empty for no grace.`,
  );
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
  DELIVERY_WAIT_MS: positiveInt('DELIVERY_WAIT_MS', 1500),
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
  };
}
