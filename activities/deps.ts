import type pg from 'pg';
import type { Logger } from '../src/log';

/** What every activity may touch: injected, never module singletons. */
export interface ActivityDeps {
  pool: pg.Pool;
  logger: Logger;
}
