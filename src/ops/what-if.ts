// what-if (SPEC §7): "what would this change do to our customers?", answered before anyone
// changes it. Every account's processed events go through the rebuild's fold (on its worker
// threads, a share of the accounts each) as stored and under the proposed settings, and the two
// are compared at one instant: now, or `at` with the log as it stood then (events processed by
// that time, which is the audit trail's answer). Every read runs inside a READ ONLY transaction,
// on every connection it uses: what-if cannot write.
import type pg from 'pg';

import { withTransaction } from '../db/pool';
import { describeEvents, type FoldedEvent } from '../db/queries/billing-events';
import { countProcessedEvents } from '../db/queries/billing-events-checks';
import { passDeadlines } from '../domain/fold';
import { changesTheFold, type PolicySettings } from '../domain/policy';
import type { AccountState, BillingEvent, Decision } from '../domain/types';
import { foldInThreads, type RebuildOptions } from './rebuild';
import { visitProcessedEvents } from './rebuild-part';
import {
  type AccountComparison,
  type Answer,
  compareAccount,
  comparedActions,
  deadlinesHonoured,
  WhatIfFold,
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
  let done = 0;
  opts.onProgress?.(0, total);
  const onEvents = (n: number) => {
    done += n;
    opts.onProgress?.(done, Math.max(total, done));
  };
  const parallel = opts.parallel;
  const parts =
    parallel && parallel.threads > 1
      ? await foldInThreads<WhatIfCounts>(parallel, pageSize, onEvents, input)
      : [
          await withTransaction(pool, (db) => whatIfPart(db, input, { pageSize, onEvents }), {
            readOnly: true,
          }),
        ];
  if (done < total) opts.onProgress?.(total, total);
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

// ---------------------------------------------------------------------------------------------
// One account's derivation timeline, both ways (--account)

export interface TimelineSide {
  outcome: string;
  status: string | null;
}

export interface TimelineRow {
  /** billing_events.id, or a deadline's key for a deadline passed with no stored timer event. */
  event_id: string;
  event: string;
  event_type: string;
  occurred_at: string;
  /** The object the event is evidence about: `stripe:sub_…`, `myasp:…`, `registration`, … */
  object: string;
  now: TimelineSide | null;
  would: TimelineSide | null;
  differs: boolean;
}

export interface WhatIfTimeline {
  account_id: string;
  at: string;
  as_of_log: string | null;
  proposed: string[];
  rows: TimelineRow[];
  now: Answer | null;
  would: Answer | null;
  summary: string;
}

function objectOf(event: BillingEvent): string {
  if (event.object_key) return event.object_key;
  const d = event.data;
  if (d.kind === 'account.registered') return 'registration';
  if (d.kind === 'manual.correction') return 'manual';
  if (d.kind === 'timer.fired') return `deadline:${d.timer}`;
  return '-';
}

const side = (d: Decision, before: AccountState | null): TimelineSide => ({
  outcome: d.outcome,
  status: (d.outcome === 'applied' ? d.state : before)?.status ?? null,
});

/** Deadlines passed by `at` with no stored timer event, one row each, both sides side by side. */
function deadlineRows(
  now: ReturnType<typeof passDeadlines>['steps'],
  would: ReturnType<typeof passDeadlines>['steps'],
): TimelineRow[] {
  const rows = new Map<string, TimelineRow>();
  const add = (which: 'now' | 'would', steps: typeof now) => {
    for (const { event, decision } of steps) {
      const row = rows.get(event.dedupe_key) ?? {
        event_id: event.event_id,
        event: event.dedupe_key,
        event_type: event.event_type,
        occurred_at: event.occurred_at,
        object: objectOf(event),
        now: null,
        would: null,
        differs: false,
      };
      row[which] = side(decision, null);
      row.differs = row.now?.status !== row.would?.status;
      rows.set(event.dedupe_key, row);
    }
  };
  add('now', now);
  add('would', would);
  return [...rows.values()].sort((a, b) => Date.parse(a.occurred_at) - Date.parse(b.occurred_at));
}

/** The account's events through the fold both ways, each with the status after it. */
export async function whatIfTimeline(
  pool: pg.Pool,
  accountId: string,
  opts: Pick<WhatIfOptions, 'settings' | 'proposed' | 'gatedNow' | 'at' | 'now'>,
): Promise<WhatIfTimeline> {
  const at = opts.at ?? (opts.now ?? new Date()).toISOString();
  const fold = new WhatIfFold(opts.settings);
  const rows: TimelineRow[] = [];
  const before = { now: null as AccountState | null, would: null as AccountState | null };
  const visit = (row: FoldedEvent) => {
    const step = fold.visit(row);
    const now = side(step.now, before.now);
    const would = side(step.would, before.would);
    before.now = step.now.outcome === 'applied' ? step.now.state : before.now;
    before.would = step.would.outcome === 'applied' ? step.would.state : before.would;
    rows.push({
      event_id: step.event.event_id,
      event: step.event.dedupe_key,
      event_type: step.event.event_type,
      occurred_at: step.event.occurred_at,
      object: objectOf(step.event),
      now,
      would,
      differs: now.status !== would.status || now.outcome !== would.outcome,
    });
  };
  await withTransaction(
    pool,
    (db) =>
      visitProcessedEvents(
        db,
        {
          accountId,
          processedBy: opts.at ?? null,
          registrationDefaults: opts.settings.default_trial_days !== undefined,
          pageSize: Number.MAX_SAFE_INTEGER,
        },
        visit,
      ),
    { readOnly: true },
  );
  const gatedNow = [...opts.gatedNow];
  const deadlines = deadlinesHonoured(opts.at ?? null, changesTheFold(opts.settings));
  const input = {
    at,
    gated_now: gatedNow,
    gated_would: opts.settings.gated_actions ?? gatedNow,
    deadlines: { now: false, would: false },
  };
  const passed = (state: AccountState | null, honour: boolean) =>
    honour ? passDeadlines(state, new Date(at)) : { state, steps: [] };
  const nowPassed = passed(before.now, deadlines.now);
  const wouldPassed = passed(before.would, deadlines.would);
  rows.push(...deadlineRows(nowPassed.steps, wouldPassed.steps));
  const empty = rows.length === 0;
  const c = empty
    ? null
    : compareAccount(
        accountId,
        { now: nowPassed.state, would: wouldPassed.state, differs_since: null },
        input,
      );
  const differing = rows.filter((r) => r.differs).length;
  const proposed = opts.proposed.length > 0 ? opts.proposed.join(' ') : 'no change';
  const summary = c
    ? `what-if ${proposed} for ${accountId}: ${c.now.status} now, would be ${c.would.status}; ${differing} of ${rows.length} steps differ.`
    : `what-if: ${accountId} has no processed events${opts.at ? ` by ${at}` : ''}.`;
  return {
    account_id: accountId,
    at,
    as_of_log: opts.at ?? null,
    proposed: [...opts.proposed],
    rows,
    now: c?.now ?? null,
    would: c?.would ?? null,
    summary,
  };
}
