// The invariants of SPEC §4, checked against the live database: what the schema is meant to make
// impossible, verified rather than assumed. Rebuild and replay live next door and are re-exported
// here, so the operator tools read as one module.
import type pg from 'pg';

import { auditRowsWithUnknownEvent, eventsWithBadAuditCount } from '../db/queries/audit-logs';
import { lastEventMismatches } from '../db/queries/billing-accounts';
import { duplicateDedupeKeys, type DuplicateKey } from '../db/queries/billing-events-checks';
import { type TableTrigger, tableTriggers } from '../db/queries/catalog';
import { stubsWithoutArchive } from '../db/queries/event-archive';
import {
  type Check,
  type CheckItem,
  type CheckStatus,
  fail,
  ok,
  runChecks,
  worstStatus,
} from './check-item';

export {
  defaultRebuildThreads,
  rebuildProjection,
  type RebuildOptions,
  type RebuildResult,
  type ColumnDiff,
} from './rebuild';
export { replayTimeline, type Timeline, type TimelineEntry } from './replay';

export interface IntegrityResult {
  ok: boolean;
  status: CheckStatus;
  checked_at: string;
  items: CheckItem[];
}

export interface DedupeResult {
  ok: boolean;
  duplicates: number;
  keys: DuplicateKey[];
}

/** SPEC §4.3: each dedupe_key is stored once. */
export async function dedupeCheck(pool: pg.Pool): Promise<DedupeResult> {
  const dup = await duplicateDedupeKeys(pool);
  return { ok: dup.total === 0, duplicates: dup.total, keys: dup.keys };
}

async function dedupe(pool: pg.Pool) {
  const r = await dedupeCheck(pool);
  return r.ok
    ? ok(r, 'Every dedupe_key is stored once.')
    : fail(r, `${r.duplicates} dedupe_key(s) are stored more than once.`);
}

async function projectionPointsAtEvents(pool: pg.Pool) {
  const rows = await lastEventMismatches(pool);
  if (rows.length === 0) {
    return ok(
      { count: 0 },
      "Every account's last_event_id is an applied event of that account, ending in its status.",
    );
  }
  const kinds = [...new Set(rows.map((r) => r.problem))].join(', ');
  return fail(
    { count: rows.length, rows },
    `${rows.length} account(s) do not match their last event (${kinds}).`,
  );
}

async function auditRefersToEvents(pool: pg.Pool) {
  const rows = await auditRowsWithUnknownEvent(pool);
  return rows.length === 0
    ? ok({ count: 0 }, 'Every audit row with an event_id refers to a stored event.')
    : fail(
        { count: rows.length, rows },
        `${rows.length} audit row(s) refer to events that do not exist.`,
      );
}

async function oneAuditPerEvent(pool: pg.Pool) {
  const r = await eventsWithBadAuditCount(pool);
  return r.total === 0
    ? ok(
        { count: 0 },
        'Every processed event has exactly one audit row, and no pending event has one.',
      )
    : fail(
        { count: r.total, rows: r.rows },
        `${r.total} event(s) do not have exactly one audit row for their outcome.`,
      );
}

// pg_trigger.tgtype bits (see pg_trigger.h).
const TG_BEFORE = 2;
const TG_DELETE = 8;
const TG_UPDATE = 16;
const TG_TRUNCATE = 32;
const APPEND_ONLY_TABLES = ['billing_events', 'audit_logs', 'billing_event_payloads_archive'];

/** Which of UPDATE / DELETE / TRUNCATE no enabled BEFORE trigger guards on `table`. */
export function unguardedOperations(table: string, triggers: readonly TableTrigger[]): string[] {
  const mine = triggers.filter((t) => t.table === table && t.enabled && (t.type & TG_BEFORE) !== 0);
  const ops: [string, number][] = [
    ['UPDATE', TG_UPDATE],
    ['DELETE', TG_DELETE],
    ['TRUNCATE', TG_TRUNCATE],
  ];
  return ops.filter(([, bit]) => !mine.some((t) => (t.type & bit) !== 0)).map(([op]) => op);
}

async function appendOnlyTriggers(pool: pg.Pool) {
  const triggers = await tableTriggers(pool, APPEND_ONLY_TABLES);
  const missing: Record<string, string[]> = {};
  for (const table of APPEND_ONLY_TABLES) {
    const ops = unguardedOperations(table, triggers);
    if (ops.length > 0) missing[table] = ops;
  }
  const value = { triggers: triggers.map((t) => `${t.table}.${t.name}`), unguarded: missing };
  if (Object.keys(missing).length > 0) {
    const list = Object.entries(missing).map(([t, ops]) => `${t} (${ops.join(', ')})`);
    return fail(value, `Append-only triggers are missing or disabled on ${list.join('; ')}.`);
  }
  return ok(
    value,
    `${APPEND_ONLY_TABLES.join(', ')} refuse UPDATE, DELETE and TRUNCATE (append-only triggers in place).`,
  );
}

/** Every archived payload stub has its payload in billing_event_payloads_archive. */
async function archivedPayloads(pool: pg.Pool) {
  const ids = await stubsWithoutArchive(pool);
  if (ids.length > 0) {
    return fail(
      { count: ids.length, event_ids: ids },
      `${ids.length} event(s) say their payload was archived, but billing_event_payloads_archive lacks it (events ${ids.join(', ')}).`,
    );
  }
  return ok(
    { count: 0, event_ids: [] },
    'Every archived payload is in billing_event_payloads_archive.',
  );
}

export const INTEGRITY_CHECKS: readonly Check<pg.Pool>[] = [
  { name: 'dedupe_key_unique', run: dedupe },
  { name: 'projection_last_event', run: projectionPointsAtEvents },
  { name: 'audit_event_refs', run: auditRefersToEvents },
  { name: 'one_audit_row_per_event', run: oneAuditPerEvent },
  { name: 'append_only_triggers', run: appendOnlyTriggers },
  { name: 'archived_payloads', run: archivedPayloads },
];

export async function integrityCheck(
  pool: pg.Pool,
  now: Date = new Date(),
): Promise<IntegrityResult> {
  const items = await runChecks(INTEGRITY_CHECKS, pool);
  const status = worstStatus(items);
  return { ok: status !== 'fail', status, checked_at: now.toISOString(), items };
}
