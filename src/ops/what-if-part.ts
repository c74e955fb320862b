// One share of a what-if (SPEC §7): the share's processed events read as the rebuild reads them
// (visitProcessedEvents), folded both ways (what-if-fold.ts), and counted: accounts by (status now
// → would be) and, per gated action, by (allowed now → would be), with example accounts. Plain
// data, so a share can run on a thread of its own and the shares simply add up (what-if.ts).
import type { Db } from '../db/pool';
import type { AccountPart } from '../db/queries/account-part';
import { listAllAccounts } from '../db/queries/billing-accounts';
import { type PolicySettings } from '../domain/policy';
import { visitProcessedEvents } from './rebuild-part';
import {
  type AccountComparison,
  compareAccount,
  type CompareInput,
  WhatIfFold,
} from './what-if-fold';

export interface Bucket {
  count: number;
  /** Accounts in it, smallest account ids first, at most `examples` of them (none when unchanged). */
  examples: AccountComparison[];
}

export interface WhatIfCounts {
  events: number;
  accounts: number;
  /** `now→would` (e.g. `past_due→past_due`, `free→past_due`) → accounts. */
  statuses: Record<string, Bucket>;
  /** action → `allowed→denied` (and the other three pairs) → accounts. */
  gate: Record<string, Record<string, Bucket>>;
}

export interface WhatIfPartInput extends CompareInput {
  settings: PolicySettings;
  /** Examples kept per changed bucket. */
  examples: number;
  /** The log as of this instant (--at): events processed by then. */
  processed_by: string | null;
}

export const verdictWord = (allowed: boolean) => (allowed ? 'allowed' : 'denied');

const byId = (a: AccountComparison, b: AccountComparison) =>
  a.account_id < b.account_id ? -1 : a.account_id > b.account_id ? 1 : 0;

/** Adds one account to a bucket, keeping the `limit` smallest account ids as examples. */
export function addTo(
  buckets: Record<string, Bucket>,
  key: string,
  changed: boolean,
  c: AccountComparison,
  limit: number,
): void {
  const bucket = (buckets[key] ??= { count: 0, examples: [] });
  bucket.count += 1;
  if (!changed || limit === 0) return;
  bucket.examples.push(c);
  if (bucket.examples.length > limit * 2)
    bucket.examples = bucket.examples.sort(byId).slice(0, limit);
}

export function trimExamples(counts: WhatIfCounts, limit: number): WhatIfCounts {
  const trim = (b: Bucket) => {
    b.examples = b.examples.sort(byId).slice(0, limit);
  };
  Object.values(counts.statuses).forEach(trim);
  for (const buckets of Object.values(counts.gate)) Object.values(buckets).forEach(trim);
  return counts;
}

/** Counts one compared account. */
export function count(counts: WhatIfCounts, c: AccountComparison, limit: number): void {
  counts.accounts += 1;
  const s = `${c.now.status}→${c.would.status}`;
  addTo(counts.statuses, s, c.now.status !== c.would.status, c, limit);
  for (const [action, now] of Object.entries(c.now.gate)) {
    const would = c.would.gate[action];
    if (!would) continue;
    const key = `${verdictWord(now.allowed)}→${verdictWord(would.allowed)}`;
    addTo((counts.gate[action] ??= {}), key, now.allowed !== would.allowed, c, limit);
  }
}

export function emptyCounts(): WhatIfCounts {
  return { events: 0, accounts: 0, statuses: {}, gate: {} };
}

/** Folds and counts one share of the accounts (or all of them), reading only. */
export async function whatIfPart(
  db: Db,
  input: WhatIfPartInput,
  opts: { part?: AccountPart; pageSize: number; onEvents?: (events: number) => void },
): Promise<WhatIfCounts> {
  const fold = new WhatIfFold(input.settings);
  // Now: today's side is the projection the gate answers from, so only the proposal is folded.
  // At a past time: both sides are folded from the log as it stood then.
  const now = input.processed_by === null;
  await visitProcessedEvents(
    db,
    {
      ...opts,
      processedBy: input.processed_by,
      registrationDefaults: input.settings.default_trial_days !== undefined,
    },
    now ? (row) => fold.visitProposed(row) : (row) => void fold.visit(row),
  );
  if (now) for (const row of await listAllAccounts(db, opts.part)) fold.useProjection(row);
  const counts = emptyCounts();
  counts.events = fold.events;
  for (const [id, pair] of fold.accounts()) {
    if (pair.now === null && pair.would === null) continue;
    count(counts, compareAccount(id, pair, input), input.examples);
  }
  return trimExamples(counts, input.examples);
}
