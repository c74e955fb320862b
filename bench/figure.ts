// What every scenario of `npm run bench` reports, and the sizes it measures: memory of a process,
// Temporal's SQLite file, the database.
import fs from 'node:fs';

import type pg from 'pg';

export interface Figure {
  value: number;
  baseline: number;
  unit: string;
  /** What the baseline is, where it differs from what bench:tables says for the figure. */
  baseline_label?: string;
  extra?: Record<string, number>;
}

export const MB = 1024 * 1024;

/** The latencies of a load and of its baseline, as a figure's extra measurements. */
export function latencies(
  ours: { p50: number; p99: number },
  base: { p50: number; p99: number },
): Record<string, number> {
  return {
    p50_ms: ours.p50,
    p99_ms: ours.p99,
    baseline_p50_ms: base.p50,
    baseline_p99_ms: base.p99,
  };
}

/** Resident memory of a process, from /proc (0 where there is none). */
export function rssMb(pid: number): number {
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/** The dev server's SQLite file with its WAL: Temporal's size on disk. */
export function sqliteMb(file: string): number {
  const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
  return Math.round(((size(file) + size(`${file}-wal`)) / MB) * 10) / 10;
}

export async function databaseMb(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ b: string }>(
    'SELECT pg_database_size(current_database())::text AS b',
  );
  return Math.round((Number(r.rows[0]?.b ?? 0) / MB) * 10) / 10;
}
