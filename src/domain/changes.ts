// What the host app is told (SPEC §10): a change is a committed change of an account's visible
// billing state. Pure: the apply transaction and rebuild-projection --apply both decide here what
// they record, so a rebuild that reproduces the projection finds no change to record.
import type { AccountState } from './account-state';
import type { FoldStep } from './fold';

/** The part of the account a host app keeps a copy of. */
export interface VisibleState {
  status: AccountState['status'];
  scheduled_cancel_at: string | null;
  grace_until: string | null;
  trial_end: string | null;
  /** The object that decides the status (`stripe:sub_…`, `myasp:<user>`, `manual`, `trial`). */
  status_object: string | null;
}

export const CHANGE_TYPES = ['billing.status_changed', 'billing.account_updated'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

/** The event that made the change; null for a change recorded by a rebuild. */
export interface ChangeCause {
  event_id: string;
  source: string;
  event_type: string;
  occurred_at: string;
}

/** A change before the writer numbers it (seq and change_id come from the database). */
export interface ChangeDraft {
  account_id: string;
  type: ChangeType;
  previous: VisibleState | null;
  current: VisibleState;
  /** Why: the audit action without its `billing.` prefix (`payment_failed`), or `rebuild`. */
  reason: string;
  cause: ChangeCause | null;
}

/** A change as stored, numbered and named. */
export interface Change extends ChangeDraft {
  seq: string;
  change_id: string;
  created_at: string;
}

const VISIBLE_FIELDS = [
  'status',
  'scheduled_cancel_at',
  'grace_until',
  'trial_end',
  'status_object',
] as const satisfies readonly (keyof VisibleState)[];

export function visibleState(state: AccountState | null): VisibleState | null {
  if (state === null) return null;
  return {
    status: state.status,
    scheduled_cancel_at: state.scheduled_cancel_at,
    grace_until: state.grace_until,
    trial_end: state.trial_end,
    status_object: state.status_object,
  };
}

/** Instants compare as instants: the same moment written two ways is no change. */
function sameField(a: string | null, b: string | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  return !Number.isNaN(ta) && ta === tb;
}

export function sameVisible(a: VisibleState | null, b: VisibleState | null): boolean {
  if (a === null || b === null) return a === b;
  return VISIBLE_FIELDS.every((f) => sameField(a[f], b[f]));
}

/** The change from `before` to `after`, or null when nothing a host app sees moved. */
export function changeBetween(
  before: AccountState | null,
  after: AccountState | null,
  reason: string,
  cause: ChangeCause | null,
): ChangeDraft | null {
  const previous = visibleState(before);
  const current = visibleState(after);
  if (after === null || current === null || sameVisible(previous, current)) return null;
  return {
    account_id: after.account_id,
    type:
      previous?.status === current.status ? 'billing.account_updated' : 'billing.status_changed',
    previous,
    current,
    reason,
    cause,
  };
}

/**
 * The changes a folded batch makes, one per applied event that moved the visible state, in
 * order. Duplicates, stale and ignored events leave the state as it was, so they make none.
 */
export function changesOfFold(
  initial: AccountState | null,
  steps: readonly FoldStep[],
): ChangeDraft[] {
  const drafts: ChangeDraft[] = [];
  let before = initial;
  for (const { event, decision } of steps) {
    if (decision.outcome === 'applied') {
      const draft = changeBetween(
        before,
        decision.state,
        decision.audit.action.replace(/^billing\./, ''),
        {
          event_id: event.event_id,
          source: event.source,
          event_type: event.event_type,
          occurred_at: event.occurred_at,
        },
      );
      if (draft) drafts.push(draft);
      before = decision.state;
    }
  }
  return drafts;
}

/** Does an endpoint that asked for `types` (null: every type) want a change of `type`? */
export function endpointWants(types: readonly string[] | null, type: ChangeType): boolean {
  return types === null || types.length === 0 || types.includes(type);
}

/** The message body a host app receives (SPEC §10): `{type, timestamp, data}`. */
export function notificationBody(change: Change): {
  type: ChangeType;
  timestamp: string;
  data: Record<string, unknown>;
} {
  return {
    type: change.type,
    timestamp: change.created_at,
    data: {
      account_id: change.account_id,
      seq: Number(change.seq),
      change_id: change.change_id,
      previous: change.previous,
      current: change.current,
      reason: change.reason,
      cause: change.cause,
    },
  };
}
