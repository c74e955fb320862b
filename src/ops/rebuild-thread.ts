// A worker thread of rebuild-projection: folds and compares one share of the accounts on a
// connection of its own, reports each page's events, and posts its result (rebuild.ts).
import { parentPort, workerData } from 'node:worker_threads';

import { createPool } from '../db/pool';
import type { AccountPart } from '../db/queries/account-part';
import { rebuildPart } from './rebuild-part';

export interface ThreadInput {
  databaseUrl: string;
  part: AccountPart;
  pageSize: number;
  statementTimeoutMs: number;
}

export type ThreadMessage =
  | { kind: 'events'; events: number }
  | { kind: 'done'; result: Awaited<ReturnType<typeof rebuildPart>> }
  | { kind: 'failed'; message: string };

async function main(input: ThreadInput): Promise<void> {
  const pool = createPool(input.databaseUrl, {
    max: 1,
    statementTimeoutMs: input.statementTimeoutMs,
  });
  const post = (m: ThreadMessage) => parentPort?.postMessage(m);
  try {
    const result = await rebuildPart(pool, {
      part: input.part,
      pageSize: input.pageSize,
      onEvents: (events) => post({ kind: 'events', events }),
    });
    post({ kind: 'done', result });
  } catch (err) {
    post({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  } finally {
    await pool.end();
  }
}

if (parentPort) void main(workerData as ThreadInput);
