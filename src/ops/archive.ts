// archive-events <YYYY-MM>: the checklist's "archive later", made safe. Moves the raw payloads of a
// closed month's processed events into billing_event_payloads_archive in batches (each batch one
// transaction: copy, then stub). Rows stay in billing_events, so dedupe, integrity and rebuild see
// every event; `billing_events_full` shows every payload wherever it lives. Unprocessed events keep
// their payload until they are processed.
import type pg from 'pg';

import { withTransaction } from '../db/pool';
import {
  copyPayloadsToArchive,
  type MonthArchiveCounts,
  monthArchiveCounts,
  monthBounds,
  monthOf,
  stubArchivedPayloads,
} from '../db/queries/event-archive';
import { AppError } from '../domain/errors';

export interface ArchiveOptions {
  timeZone: string;
  now?: Date;
  dryRun?: boolean;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ArchiveResult {
  month: string;
  start: string;
  end: string;
  before: MonthArchiveCounts;
  archived_now: number;
  after: MonthArchiveCounts;
  dry_run: boolean;
}

export async function archiveMonth(
  pool: pg.Pool,
  month: string,
  opts: ArchiveOptions,
): Promise<ArchiveResult> {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month))
    throw new AppError('invalid_month', `The month must look like 2025-04; got "${month}".`);
  const current = await monthOf(pool, (opts.now ?? new Date()).toISOString(), opts.timeZone);
  if (month >= current) {
    throw new AppError(
      'month_not_closed',
      `${month} is not over yet (it is ${current} in ${opts.timeZone}); only closed months are archived.`,
    );
  }
  const bounds = await monthBounds(pool, month, opts.timeZone);
  const before = await monthArchiveCounts(pool, bounds);
  let archived = 0;
  if (!opts.dryRun) {
    for (;;) {
      const moved = await archiveBatch(pool, bounds, month, opts.batchSize ?? 500);
      if (moved === 0) break;
      archived += moved;
      opts.onProgress?.(archived, before.archivable);
    }
  }
  const after = opts.dryRun ? before : await monthArchiveCounts(pool, bounds);
  return {
    month,
    ...bounds,
    before,
    archived_now: archived,
    after,
    dry_run: opts.dryRun === true,
  };
}

function archiveBatch(
  pool: pg.Pool,
  bounds: { start: string; end: string },
  month: string,
  size: number,
): Promise<number> {
  return withTransaction(pool, async (client) => {
    const ids = await copyPayloadsToArchive(client, bounds, month, size);
    const stubbed = ids.length > 0 ? await stubArchivedPayloads(client, ids, month) : 0;
    if (stubbed !== ids.length)
      throw new Error(`copied ${ids.length} payload(s) but stubbed ${stubbed}; nothing was moved`);
    return ids.length;
  });
}
