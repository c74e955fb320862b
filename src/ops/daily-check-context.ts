// What every daily-check item gets: the database, the instant the check runs "as of", the
// thresholds in force, and a Temporal probe shared by the items that need it.
import type pg from 'pg';
import type { BillingTemporal } from '../temporal/client';
import type { Thresholds } from './thresholds';

export interface DailyCheckCtx {
  pool: pg.Pool;
  now: Date;
  thresholds: Thresholds;
  /** The actions the gate may deny (GATED_ACTIONS); the gate probe asks about `confirm`. */
  gatedActions: readonly string[];
  temporal?: BillingTemporal;
  /** One probe per run, shared by the items that need it; null when no connection was given. */
  temporalReachable: () => Promise<boolean | null>;
}

export const ago = (ctx: DailyCheckCtx, ms: number): string =>
  new Date(ctx.now.getTime() - ms).toISOString();

export const percent = (share: number): string => `${+(share * 100).toFixed(1)}%`;
