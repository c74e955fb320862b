// The daily check's judgement thresholds. Defaults are the operations checklist's own numbers;
// an operator changes one with `npm run ops -- thresholds set <name> <value>` (kept in
// daily_check_thresholds, so the CLI, GET /v1/ops/daily-check and the Schedule judge alike).
import type pg from 'pg';

import { listThresholds, resetThreshold, setThreshold } from '../db/queries/daily-check';
import { AppError } from '../domain/errors';

export interface ThresholdSpec {
  default: number;
  /** 'share': a fraction 0..1, printed as a percentage; 'count': a whole number. */
  unit: 'share' | 'count';
  meaning: string;
}

export const THRESHOLDS = {
  good_standing_min: {
    default: 0.8,
    unit: 'share',
    meaning:
      'registered/active (free, early_payment, active, canceling) must be at least this share of all accounts',
  },
  stopped_max: { default: 0.1, unit: 'share', meaning: 'stopped accounts at most this share' },
  revived_max: {
    default: 0.05,
    unit: 'share',
    meaning: 'revived MyASP members (status 3) at most this share',
  },
  canceled_max: { default: 0.05, unit: 'share', meaning: 'canceled accounts at most this share' },
  webhook_error_rate_max: {
    default: 0.05,
    unit: 'share',
    meaning: 'rejected webhooks ÷ all webhooks in the last 24 h at most this share',
  },
  mass_stop_share: {
    default: 0.2,
    unit: 'share',
    meaning:
      'accounts moved to a blocked status (past_due, stopped, canceled) in the last hour: this share of all accounts or more fails',
  },
  mass_stop_min_accounts: {
    default: 3,
    unit: 'count',
    meaning: 'the mass-stop alarm needs at least this many accounts moved in the hour',
  },
} as const satisfies Record<string, ThresholdSpec>;

export type ThresholdName = keyof typeof THRESHOLDS;
export type Thresholds = Record<ThresholdName, number>;

export const THRESHOLD_NAMES = Object.keys(THRESHOLDS) as ThresholdName[];

export function isThresholdName(name: string): name is ThresholdName {
  return Object.hasOwn(THRESHOLDS, name);
}

export function defaultThresholds(): Thresholds {
  return Object.fromEntries(THRESHOLD_NAMES.map((n) => [n, THRESHOLDS[n].default])) as Thresholds;
}

/** The thresholds in force: defaults, overridden by what operators stored. */
export async function loadThresholds(pool: pg.Pool): Promise<Thresholds> {
  const t = defaultThresholds();
  for (const row of await listThresholds(pool))
    if (isThresholdName(row.name)) t[row.name] = row.value;
  return t;
}

function parseValue(name: ThresholdName, raw: string): number {
  const spec: ThresholdSpec = THRESHOLDS[name];
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(raw);
  const value = percent ? Number(percent[1]) / 100 : Number(raw);
  const fits =
    Number.isFinite(value) &&
    value >= 0 &&
    (spec.unit === 'share' ? value <= 1 : Number.isInteger(value));
  if (!fits || raw.trim() === '') {
    const expected =
      spec.unit === 'share'
        ? 'a share between 0 and 1, or a percentage like 80%'
        : 'a whole number';
    throw new AppError('invalid_threshold', `${name} must be ${expected}; got "${raw}".`, 400);
  }
  return value;
}

function knownName(name: string): ThresholdName {
  if (isThresholdName(name)) return name;
  throw new AppError(
    'unknown_threshold',
    `There is no threshold named "${name}"; known ones: ${THRESHOLD_NAMES.join(', ')}.`,
    400,
  );
}

export async function changeThreshold(
  pool: pg.Pool,
  name: string,
  raw: string,
  actor: string,
): Promise<{ name: ThresholdName; value: number }> {
  const known = knownName(name);
  const value = parseValue(known, raw);
  await setThreshold(pool, known, value, actor);
  return { name: known, value };
}

export async function restoreDefault(pool: pg.Pool, name: string): Promise<ThresholdName> {
  const known = knownName(name);
  await resetThreshold(pool, known);
  return known;
}

export function formatThreshold(name: ThresholdName, value: number): string {
  return THRESHOLDS[name].unit === 'share' ? `${+(value * 100).toFixed(2)}%` : String(value);
}
