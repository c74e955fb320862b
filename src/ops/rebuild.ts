// rebuild-projection (SPEC §7): fold the pure transition over every processed event, in the
// order the workflows processed them, and compare the result with billing_accounts column by
// column. Because the transition reads no clock, the fold must reproduce the projection exactly;
// any difference is a defect (or a hand edit) to investigate, and --apply writes the rebuilt rows.
// The fold is per account, so it can be split over threads by a hash of the account id
// (rebuild-part.ts does one share, rebuild-thread.ts runs a share on a thread of its own).
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import type pg from 'pg';

import { withTransaction } from '../db/pool';
import { getAccount, lockAccountRow, upsertAccount } from '../db/queries/billing-accounts';
import { insertChanges } from '../db/queries/billing-changes';
import { countProcessedEvents, lastProcessedSeq } from '../db/queries/billing-events-checks';
import { changeBetween } from '../domain/changes';
import { nextDeadlineAt } from '../domain/fold';
import {
  type ColumnDiff,
  type Findings,
  type OutcomeMismatch,
  type PartResult,
  rebuildPart,
  type RowToWrite,
} from './rebuild-part';
import type { ThreadInput, ThreadMessage } from './rebuild-thread';

export { type ColumnDiff, diffAccount, type OutcomeMismatch } from './rebuild-part';

export interface RebuildOptions {
  apply: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Events read per query (default 5000). */
  pageSize?: number;
  /**
   * Fold on `threads` worker threads, each reading its share of the accounts on a connection of
   * its own to `databaseUrl`. Without it (or with one thread) the fold runs on the given pool.
   */
  parallel?: { databaseUrl: string; threads: number };
}

export interface RebuildResult extends Findings {
  /** Nothing differs (or, with apply, everything that differed was rewritten). */
  ok: boolean;
  applied_changes: boolean;
  /** Events whose stored outcome differs from what the transition decides today. */
  outcome_mismatches: OutcomeMismatch[];
  /** With apply: accounts rewritten, and accounts left alone because an event arrived meanwhile. */
  written: string[];
  skipped: string[];
}

/** A share's page query: long enough for a large page on a busy server, as the CLI allows. */
const THREAD_STATEMENT_TIMEOUT_MS = 120_000;

/** Threads for the fold by default: one per core, at most four (PostgreSQL reads every share). */
export function defaultRebuildThreads(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

/** The thread's module next to this one: `.ts` under tsx or jest (loaded through tsx), `.js` built. */
function threadModule(): { file: string; execArgv?: string[] } {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `rebuild-thread${ext}`);
  return ext === '.ts' ? { file, execArgv: ['--require', require.resolve('tsx/cjs')] } : { file };
}

function runThread<R>(
  input: ThreadInput,
  onEvents: (n: number) => void,
): {
  result: Promise<R>;
  stop: () => void;
} {
  const { file, execArgv } = threadModule();
  const worker = new Worker(file, { workerData: input, ...(execArgv ? { execArgv } : {}) });
  const result = new Promise<R>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: ThreadMessage) => {
      if (m.kind === 'events') onEvents(m.events);
      else if (m.kind === 'done') {
        settled = true;
        resolve(m.result as R);
      } else {
        settled = true;
        reject(new Error(m.message));
      }
    });
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!settled)
        reject(
          new Error(`a fold thread stopped (exit code ${code}) before it finished its share.`),
        );
    });
  });
  return { result, stop: () => void worker.terminate() };
}

/**
 * Runs one share per thread and waits for all of them: a rebuild's shares, or with `whatIf` a
 * what-if's (what-if.ts).
 */
export async function foldInThreads<R = PartResult>(
  parallel: NonNullable<RebuildOptions['parallel']>,
  pageSize: number,
  onEvents: (n: number) => void,
  whatIf?: ThreadInput['whatIf'],
): Promise<R[]> {
  const threads = Array.from({ length: parallel.threads }, (_, index) =>
    runThread<R>(
      {
        databaseUrl: parallel.databaseUrl,
        part: { index, count: parallel.threads },
        pageSize,
        statementTimeoutMs: THREAD_STATEMENT_TIMEOUT_MS,
        ...(whatIf ? { whatIf } : {}),
      },
      onEvents,
    ),
  );
  try {
    return await Promise.all(threads.map((t) => t.result));
  } finally {
    for (const t of threads) t.stop();
  }
}

const byAccount =
  <T>(id: (x: T) => string) =>
  (a: T, b: T) =>
    id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0;

/** The shares as one result, in an order that does not depend on how many there were. */
function merge(parts: PartResult[]): PartResult {
  const all = <K extends keyof PartResult>(k: K) => parts.flatMap((p) => p[k] as unknown[]);
  const sum = (k: 'events' | 'accounts' | 'matching') => parts.reduce((n, p) => n + p[k], 0);
  return {
    events: sum('events'),
    accounts: sum('accounts'),
    matching: sum('matching'),
    differing: (all('differing') as ColumnDiff[]).sort(byAccount((d) => d.account_id)),
    missing: (all('missing') as string[]).sort(),
    extra: (all('extra') as string[]).sort(),
    mismatches: (all('mismatches') as PartResult['mismatches']).sort((a, b) =>
      BigInt(a.seq) < BigInt(b.seq) ? -1 : BigInt(a.seq) > BigInt(b.seq) ? 1 : 0,
    ),
    toWrite: (all('toWrite') as RowToWrite[]).sort(byAccount((r) => r.state.account_id)),
  };
}

/** Accounts written per transaction: each holds its accounts' locks until it commits. */
const WRITE_BATCH = 500;

/**
 * Writes the rebuilt rows, a batch of accounts per transaction (one transaction would hold a lock
 * per account, and PostgreSQL's lock table runs out past a few thousand). An account whose row or
 * events moved since the fold (a workflow applied an event meanwhile) is skipped: its workflow's
 * write is newer. Where the rewrite moves what a host app sees, it is recorded as a new change
 * (SPEC §10) with the next number; a row whose visible state comes out the same records none.
 */
async function writeRebuilt(
  pool: pg.Pool,
  rows: RowToWrite[],
): Promise<{ written: string[]; skipped: string[] }> {
  const written: string[] = [];
  const skipped: string[] = [];
  for (let i = 0; i < rows.length; i += WRITE_BATCH) {
    const batch = await writeBatch(pool, rows.slice(i, i + WRITE_BATCH));
    written.push(...batch.written);
    skipped.push(...batch.skipped);
  }
  return { written, skipped };
}

async function writeBatch(
  pool: pg.Pool,
  rows: RowToWrite[],
): Promise<{ written: string[]; skipped: string[] }> {
  return withTransaction(pool, async (client) => {
    const written: string[] = [];
    const skipped: string[] = [];
    for (const { state, seenLastEvent, lastSeq } of rows) {
      const id = state.account_id;
      // The lock the account's workflow takes to apply: change numbers stay gapless and ordered.
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, [
        `billing-account:${id}`,
      ]);
      const rowLast = await lockAccountRow(client, id);
      const seq = await lastProcessedSeq(client, id);
      if (rowLast !== seenLastEvent || seq !== lastSeq) {
        skipped.push(id);
        continue;
      }
      const before = await getAccount(client, id);
      await upsertAccount(client, state, nextDeadlineAt(state));
      const change = changeBetween(before, state, 'rebuild', null);
      if (change) await insertChanges(client, id, [change]);
      written.push(id);
    }
    return { written, skipped };
  });
}

/**
 * Progress of a fold over `total` events, from the events each page reports: reports 0 at once,
 * then the running count (never more than the total said, as events may arrive meanwhile).
 */
export function foldProgress(
  total: number,
  onProgress: RebuildOptions['onProgress'],
): { onEvents: (n: number) => void; done: () => number } {
  let done = 0;
  onProgress?.(0, total);
  return {
    onEvents: (n) => {
      done += n;
      onProgress?.(done, Math.max(total, done));
    },
    done: () => done,
  };
}

export async function rebuildProjection(
  pool: pg.Pool,
  opts: RebuildOptions,
): Promise<RebuildResult> {
  const pageSize = opts.pageSize ?? 5000;
  const { onEvents } = foldProgress(await countProcessedEvents(pool), opts.onProgress);
  const parallel = opts.parallel;
  const parts =
    parallel && parallel.threads > 1
      ? await foldInThreads(parallel, pageSize, onEvents)
      : [await rebuildPart(pool, { pageSize, onEvents })];
  const r = merge(parts);
  const changes = r.toWrite.length > 0;
  const { written, skipped } =
    opts.apply && changes ? await writeRebuilt(pool, r.toWrite) : { written: [], skipped: [] };
  const clean = !changes || (opts.apply && skipped.length === 0);
  return {
    ok: clean && r.extra.length === 0,
    applied_changes: written.length > 0,
    events: r.events,
    accounts: r.accounts,
    matching: r.matching,
    differing: r.differing,
    missing: r.missing,
    extra: r.extra,
    outcome_mismatches: r.mismatches.map((m) => m.mismatch),
    written,
    skipped,
  };
}
