// What the scale scenarios of `npm run bench` get from the run: the service under test and its
// database, the run's tag, the classic design's rate, and Temporal's process and SQLite file.
import type pg from 'pg';

export interface ScaleContext {
  pool: pg.Pool;
  apiUrl: string;
  tag: string;
  /** Classic acknowledgements/s at concurrency 16 in this run. */
  classic16: () => Promise<number>;
  temporalDbFile: string;
  temporalPid: () => number;
}
