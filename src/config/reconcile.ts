// Reconciliation with Stripe's API. Optional: without STRIPE_API_KEY, webhooks and everything
// else work as before and only `reconcile` (and its schedule) is unavailable. Read on its own so
// the operator CLI needs no webhook secrets to reconcile.
import { ConfigError } from './errors';

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

export function reconcileSettingsFrom(env: NodeJS.ProcessEnv): ReconcileSettings {
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
