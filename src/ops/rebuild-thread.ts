// A worker thread of rebuild-projection or what-if: folds one share of the accounts on a
// connection of its own, reports each page's events, and posts its result (rebuild.ts,
// what-if.ts). A what-if's share reads inside a READ ONLY transaction: it cannot write.
import { parentPort, workerData } from 'node:worker_threads';

import { createPool, withTransaction } from '../db/pool';
import type { AccountPart } from '../db/queries/account-part';
import { rebuildPart } from './rebuild-part';
import { type WhatIfCounts, whatIfPart, type WhatIfPartInput } from './what-if-part';

export interface ThreadInput {
  databaseUrl: string;
  part: AccountPart;
  pageSize: number;
  statementTimeoutMs: number;
  /** Absent: a rebuild's share. */
  whatIf?: WhatIfPartInput;
}

export type ThreadResult = Awaited<ReturnType<typeof rebuildPart>> | WhatIfCounts;

export type ThreadMessage =
  | { kind: 'events'; events: number }
  | { kind: 'done'; result: ThreadResult }
  | { kind: 'failed'; message: string };

async function main(input: ThreadInput): Promise<void> {
  const pool = createPool(input.databaseUrl, {
    max: 1,
    statementTimeoutMs: input.statementTimeoutMs,
  });
  const post = (m: ThreadMessage) => parentPort?.postMessage(m);
  const opts = {
    part: input.part,
    pageSize: input.pageSize,
    onEvents: (events: number) => post({ kind: 'events', events }),
  };
  const whatIf = input.whatIf;
  try {
    const result = whatIf
      ? await withTransaction(pool, (db) => whatIfPart(db, whatIf, opts), { readOnly: true })
      : await rebuildPart(pool, opts);
    post({ kind: 'done', result });
  } catch (err) {
    post({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  } finally {
    await pool.end();
  }
}

if (parentPort) void main(workerData as ThreadInput);
