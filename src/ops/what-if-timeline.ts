// what-if --account (SPEC §7): one account's derivation timeline under today's and the proposed
// settings side by side — each event, the object it is evidence about, the status after it each
// way and where they differ — through the same fold as the whole what-if (what-if-fold.ts), read
// inside a READ ONLY transaction.
import type pg from 'pg';

import { withTransaction } from '../db/pool';
import type { FoldedEvent } from '../db/queries/billing-events';
import { passDeadlines } from '../domain/fold';
import { changesTheFold } from '../domain/policy';
import type { AccountState, BillingEvent, Decision } from '../domain/types';
import { visitProcessedEvents } from './rebuild-part';
import type { WhatIfOptions } from './what-if';
import { type Answer, compareAccount, deadlinesHonoured, WhatIfFold } from './what-if-fold';

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
