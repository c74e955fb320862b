// Where `npm run ops -- trigger` may post, and with which secrets. It posts signed test events into
// a running service, so it must not reach production by accident: by default it only uses the
// local secrets that `npm start` generates when nothing is configured (.data/dev-secrets.json) and
// the API address that run wrote (.data/runtime.json) — secrets no production service accepts.
// Anything else needs --allow, with STRIPE_WEBHOOK_SECRET / MYASP_TOKEN / ADMIN_TOKEN set.
import fs from 'node:fs';
import path from 'node:path';

import { environment } from '../config';
import { AppError } from '../domain/errors';

export interface TriggerTarget {
  url: string;
  stripeSecret: string | null;
  myaspToken: string | null;
  adminToken: string;
  /** Where the secrets came from, for the output. */
  secretsFrom: string;
}

interface LocalRun {
  apiUrl: string | null;
  secrets: { stripeWebhookSecret?: string; myaspToken?: string; adminToken?: string } | null;
  secretsFile: string;
}

const nonEmpty = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;

const first = (list: string | undefined) => nonEmpty(list?.split(',')[0]);

function readJson(file: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return parsed !== null && typeof parsed === 'object'
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function localRun(env: NodeJS.ProcessEnv, cwd: string): LocalRun | null {
  const dataDir = nonEmpty(env.DATA_DIR) ?? '.data';
  const dirs = [path.resolve(cwd, dataDir), path.resolve(__dirname, '..', '..', dataDir)];
  const dir = dirs.find((d) => fs.existsSync(path.join(d, 'runtime.json')));
  if (!dir) return null;
  const runtime = readJson(path.join(dir, 'runtime.json'));
  const secretsFile = path.join(dir, 'dev-secrets.json');
  return {
    apiUrl: nonEmpty(runtime?.apiUrl) ?? null,
    secrets: readJson(secretsFile) as LocalRun['secrets'],
    secretsFile,
  };
}

const NEEDS_ALLOW =
  'For a test service with its own secrets, pass --allow with STRIPE_WEBHOOK_SECRET, MYASP_TOKEN and ADMIN_TOKEN set (never against production).';

export function resolveTriggerTarget(
  opts: { url?: string; allow?: boolean },
  env: NodeJS.ProcessEnv = environment(),
  cwd: string = process.cwd(),
): TriggerTarget {
  const local = localRun(env, cwd);
  const localSecrets = local?.secrets ?? null;
  if (!opts.allow) {
    if (!local?.apiUrl || !localSecrets?.adminToken) {
      throw new AppError(
        'trigger_refused',
        `trigger only posts into a service running with its local secrets (\`npm start\` with nothing configured writes .data/runtime.json and .data/dev-secrets.json), and none is running here. ${NEEDS_ALLOW}`,
      );
    }
    const url = nonEmpty(opts.url) ?? local.apiUrl;
    if (url.replace(/\/+$/, '') !== local.apiUrl.replace(/\/+$/, '')) {
      throw new AppError(
        'trigger_refused',
        `--url ${url} is not the local service (${local.apiUrl}) whose secrets are in ${local.secretsFile}. ${NEEDS_ALLOW}`,
      );
    }
    return {
      url: local.apiUrl,
      stripeSecret: nonEmpty(localSecrets.stripeWebhookSecret) ?? null,
      myaspToken: nonEmpty(localSecrets.myaspToken) ?? null,
      adminToken: localSecrets.adminToken,
      secretsFrom: local.secretsFile,
    };
  }
  const url = nonEmpty(opts.url) ?? nonEmpty(env.BILLING_URL) ?? local?.apiUrl;
  if (!url) {
    throw new AppError(
      'trigger_no_target',
      'No service to post to: give --url http://host:port (or BILLING_URL), or run `npm start` in this directory.',
    );
  }
  const adminToken = nonEmpty(env.ADMIN_TOKEN) ?? nonEmpty(localSecrets?.adminToken);
  if (!adminToken) {
    throw new AppError(
      'trigger_no_admin_token',
      'ADMIN_TOKEN is not set; trigger needs it to read the account before and after the event.',
    );
  }
  const fromEnv = Boolean(env.STRIPE_WEBHOOK_SECRET || env.MYASP_TOKEN);
  return {
    url,
    stripeSecret:
      first(env.STRIPE_WEBHOOK_SECRET) ?? nonEmpty(localSecrets?.stripeWebhookSecret) ?? null,
    myaspToken: first(env.MYASP_TOKEN) ?? nonEmpty(localSecrets?.myaspToken) ?? null,
    adminToken,
    secretsFrom: fromEnv ? 'the environment (--allow)' : (local?.secretsFile ?? 'the environment'),
  };
}
