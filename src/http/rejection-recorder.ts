// Every non-2xx webhook answer ends up in webhook_rejections (SPEC §9), also the 503s answered
// because PostgreSQL is down: those wait in a bounded in-memory buffer and are written as soon
// as the database takes writes again. What the buffer cannot hold is counted, never silent.
import { randomUUID } from 'node:crypto';

import type pg from 'pg';

import {
  insertRejection,
  insertRejections,
  type NewRejection,
} from '../db/queries/webhook-rejections';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';

export const REJECTION_BUFFER_LIMIT = 1000;
const RETRY_INTERVAL_MS = 1000;
/** Rows written per statement when the buffer drains. */
const DRAIN_BATCH = 200;

interface Buffered extends NewRejection {
  received_at: string;
  answer_id: string;
}

export class RejectionRecorder {
  private readonly buffer: Buffered[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly metrics: Pick<Metrics, 'rejectionsBuffered' | 'rejectionsDropped'>,
    private readonly logger: Logger,
    private readonly limit = REJECTION_BUFFER_LIMIT,
  ) {}

  /** Writes the rejection now, or keeps it for later when the database refuses. Never throws. */
  async record(r: NewRejection): Promise<void> {
    const row: Buffered = { ...r, received_at: new Date().toISOString(), answer_id: randomUUID() };
    try {
      await insertRejection(this.pool, row);
      if (this.buffer.length > 0) void this.flush();
    } catch (err) {
      this.keep(row, err);
    }
  }

  /** Rejections waiting for the database. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Writes what is buffered, oldest first; stops at the first failure and retries later. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Stops retrying; one last attempt so a clean shutdown loses nothing it could write. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
    if (this.buffer.length > 0)
      this.logger.warn(
        { unrecorded: this.buffer.length },
        'webhook rejections could not be recorded before shutdown',
      );
  }

  private keep(row: Buffered, err: unknown): void {
    if (this.buffer.length >= this.limit) {
      this.metrics.rejectionsDropped.inc({ source: row.source });
      this.logger.error(
        { source: row.source, reason: row.reason, http_status: row.http_status },
        'webhook rejection dropped: the buffer for the database outage is full',
      );
    } else {
      this.buffer.push(row);
      this.metrics.rejectionsBuffered.set(this.buffer.length);
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err), buffered: this.buffer.length },
        'webhook rejection kept in memory until the database is back',
      );
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, RETRY_INTERVAL_MS);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, DRAIN_BATCH);
      try {
        // A batch whose commit was lost with the connection is written again; answer ids make
        // the second write record nothing twice.
        await insertRejections(this.pool, batch);
      } catch {
        this.scheduleRetry();
        return;
      }
      this.buffer.splice(0, batch.length);
      this.metrics.rejectionsBuffered.set(this.buffer.length);
    }
  }
}
