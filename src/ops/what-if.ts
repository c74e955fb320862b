// what-if (SPEC §7): "what would this change do to our customers?", answered before anyone
// changes it. Every account's processed events go through the rebuild's fold (on its worker
// threads, a share of the accounts each) under the proposed settings and are compared at one
// instant with today's answer: now, the projection the gate answers from (rebuild-projection
// keeps it equal to the fold); at a past time `at`, the log as it stood then, folded as stored
// (events processed by that time, which is the audit trail's answer). Every read runs inside a READ ONLY transaction,
// on every connection it uses: what-if cannot write.
import type pg from 'pg';

import { withTransaction } from '../db/pool';
import { describeEvents } from '../db/queries/billing-events';
import { countProcessedEvents } from '../db/queries/billing-events-checks';
import { changesTheFold, type PolicySettings } from '../domain/policy';
import { foldInThreads, foldProgress, type RebuildOptions } from './rebuild';
import {
  type AccountComparison,
  type Answer,
  comparedActions,
  deadlinesHonoured,
} from './what-if-fold';
import {
  type Bucket,
  emptyCounts,
  trimExamples,
  type WhatIfCounts,
  whatIfPart,
  type WhatIfPartInput,
} from './what-if-part';

export interface WhatIfOptions {
  settings: PolicySettings;
  /** The `--set` pairs as given, to say what was proposed. */
  proposed: readonly string[];
  /** GATED_ACTIONS in force today. */
  gatedNow: readonly string[];
  /** The instant to answer at (ISO-8601); absent: now, with every processed event. */
  at?: string | null;
  now?: Date;
  examples?: number;
  onProgress?: (done: number, total: number) => void;
  pageSize?: number;
  parallel?: RebuildOptions['parallel'];
}

/** The event that makes the difference, as an operator finds it: its provider id and type. */
export interface DifferenceEvent {
  event_id: string;
  /** The provider's id (`evt_…`), or a deadline's key when no stored event set it. */
  event: string;
  event_type: string | null;
  occurred_at: string | null;
}

export interface WhatIfExample {
  account_id: string;
  now: Answer;
  would: Answer;
  event: DifferenceEvent | null;
}

export interface StatusChange {
  now: string | null;
  would: string | null;
  accounts: number;
  examples: WhatIfExample[];
}

export interface GateChange {
  action: string;
  now: 'allowed' | 'denied';
  would: 'allowed' | 'denied';
  accounts: number;
  examples: WhatIfExample[];
}

export interface WhatIfResult {
  /** The instant both sides answer at. */
  at: string;
  /** With --at: the log as it stood then (events processed by `at`). */
  as_of_log: string | null;
  proposed: string[];
  settings: PolicySettings;
  gated_actions: { now: string[]; would: string[] };
  events: number;
  accounts: number;
  /** Every (status now → would be) pair with its accounts; changed pairs first. */
  statuses: StatusChange[];
  /** Per compared action, every (allowed now → would be) pair; changed pairs first. */
  gate: GateChange[];
  changed: { status: number; gate: Record<string, number> };
  summary: string;
}

const DEFAULT_EXAMPLES = 5;

function merge(parts: WhatIfCounts[], limit: number): WhatIfCounts {
  const out = emptyCounts();
  const into = (target: Record<string, Bucket>, source: Record<string, Bucket>) => {
    for (const [key, b] of Object.entries(source)) {
      const t = (target[key] ??= { count: 0, examples: [] });
      t.count += b.count;
      t.examples.push(...b.examples);
    }
  };
  for (const p of parts) {
    out.events += p.events;
    out.accounts += p.accounts;
    into(out.statuses, p.statuses);
    for (const [action, buckets] of Object.entries(p.gate))
      into((out.gate[action] ??= {}), buckets);
  }
  return trimExamples(out, limit);
}

async function withEvents(
  pool: pg.Pool,
  examples: AccountComparison[],
): Promise<(c: AccountComparison) => WhatIfExample> {
  const ids = [...new Set(examples.map((e) => e.event_id).filter((id) => id && /^\d+$/.test(id)))];
  const found = await withTransaction(pool, (db) => describeEvents(db, ids as string[]), {
    readOnly: true,
  });
  return (c) => {
    const id = c.event_id;
    const e = id ? found.get(id) : undefined;
    const event: DifferenceEvent | null =
      id === null
        ? null
        : e
          ? { event_id: id, event: e.dedupe_key, ...e }
          : { event_id: id, event: id, event_type: null, occurred_at: null };
    return { account_id: c.account_id, now: c.now, would: c.would, event };
  };
}

const changedFirst = <T extends { now: unknown; would: unknown; accounts: number }>(a: T, b: T) =>
  Number(b.now !== b.would) - Number(a.now !== a.would) || b.accounts - a.accounts;

function summaryLine(r: Omit<WhatIfResult, 'summary'>): string {
  const proposed = r.proposed.length > 0 ? r.proposed.join(' ') : 'no change (today’s settings)';
  const gate = r.gate
    .filter((g) => g.now !== g.would)
    .map((g) => `${g.action} ${g.now}→${g.would} ${g.accounts}`);
  const when = r.as_of_log ? ` at ${r.at}` : '';
  return (
    `what-if ${proposed}${when}: ${r.changed.status} of ${r.accounts} accounts would change status` +
    `; gate: ${gate.length > 0 ? gate.join(', ') : 'no answer changes'} (${r.events} events folded).`
  );
}

/** Counts (and examples) of what the proposed settings change, over every account. */
export async function whatIf(pool: pg.Pool, opts: WhatIfOptions): Promise<WhatIfResult> {
  const at = opts.at ?? (opts.now ?? new Date()).toISOString();
  const limit = opts.examples ?? DEFAULT_EXAMPLES;
  const gatedNow = [...opts.gatedNow];
  const gatedWould = opts.settings.gated_actions ?? gatedNow;
  const input: WhatIfPartInput = {
    settings: opts.settings,
    at,
    gated_now: gatedNow,
    gated_would: gatedWould,
    examples: limit,
    processed_by: opts.at ?? null,
    deadlines: deadlinesHonoured(opts.at ?? null, changesTheFold(opts.settings)),
  };
  const pageSize = opts.pageSize ?? 5000;
  const total = await withTransaction(pool, (db) => countProcessedEvents(db), { readOnly: true });
  const { onEvents, done } = foldProgress(total, opts.onProgress);
  const parallel = opts.parallel;
  const parts =
    parallel && parallel.threads > 1
      ? await foldInThreads<WhatIfCounts>(parallel, pageSize, onEvents, input)
      : [
          await withTransaction(pool, (db) => whatIfPart(db, input, { pageSize, onEvents }), {
            readOnly: true,
          }),
        ];
  // With --at, the events processed after it are not read: the count ends short of the total.
  if (done() < total) opts.onProgress?.(total, total);
  const counts = merge(parts, limit);
  const all = [
    ...Object.values(counts.statuses),
    ...Object.values(counts.gate).flatMap((b) => Object.values(b)),
  ].flatMap((b) => b.examples);
  const example = await withEvents(pool, all);
  const statuses: StatusChange[] = Object.entries(counts.statuses)
    .map(([key, b]) => {
      const [now, would] = key.split('→') as [string, string];
      const nul = (s: string) => (s === 'null' ? null : s);
      return {
        now: nul(now),
        would: nul(would),
        accounts: b.count,
        examples: b.examples.map(example),
      };
    })
    .sort(changedFirst);
  const gate: GateChange[] = comparedActions(input).flatMap((action) =>
    Object.entries(counts.gate[action] ?? {})
      .map(([key, b]) => {
        const [now, would] = key.split('→') as ['allowed' | 'denied', 'allowed' | 'denied'];
        return { action, now, would, accounts: b.count, examples: b.examples.map(example) };
      })
      .sort(changedFirst),
  );
  const changedGate: Record<string, number> = {};
  for (const action of comparedActions(input))
    changedGate[action] = gate
      .filter((g) => g.action === action && g.now !== g.would)
      .reduce((n, g) => n + g.accounts, 0);
  const result: Omit<WhatIfResult, 'summary'> = {
    at,
    as_of_log: opts.at ?? null,
    proposed: [...opts.proposed],
    settings: opts.settings,
    gated_actions: { now: gatedNow, would: [...gatedWould] },
    events: counts.events,
    accounts: counts.accounts,
    statuses,
    gate,
    changed: {
      status: statuses.filter((s) => s.now !== s.would).reduce((n, s) => n + s.accounts, 0),
      gate: changedGate,
    },
  };
  return { ...result, summary: summaryLine(result) };
}
