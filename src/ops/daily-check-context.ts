// What every daily-check item gets: the database, the instant the check runs "as of", the
// thresholds in force, and a Temporal probe shared by the items that need it.
import type pg from 'pg';
import type { Thresholds } from './thresholds';

/**
 * What the operator checks need of Temporal: whether it answers, and which namespace was asked.
 * Given by the caller (src/temporal/client.ts `temporalProbe`), so the checks import no client.
 */
export interface TemporalProbe {
  namespace: string;
  reachable(timeoutMs: number): Promise<boolean>;
}

export interface DailyCheckCtx {
  pool: pg.Pool;
  now: Date;
  thresholds: Thresholds;
  /** The actions the gate may deny (GATED_ACTIONS); the gate probe asks about `confirm`. */
  gatedActions: readonly string[];
  temporal?: TemporalProbe;
  /** One probe per run, shared by the items that need it; null when no connection was given. */
  temporalReachable: () => Promise<boolean | null>;
}

export const ago = (ctx: DailyCheckCtx, ms: number): string =>
  new Date(ctx.now.getTime() - ms).toISOString();

export const percent = (share: number): string => `${+(share * 100).toFixed(1)}%`;
