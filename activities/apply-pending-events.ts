import { type Db, withTransaction } from '../src/db/pool';
import { insertAudits, type NewAuditRow } from '../src/db/queries/audit-logs';
import { getAccount, upsertAccount } from '../src/db/queries/billing-accounts';
import { insertChanges } from '../src/db/queries/billing-changes';
import {
  latestProcessedEventId,
  lockPendingEvents,
  toBillingEvent,
  writeOutcomes,
} from '../src/db/queries/billing-events';
import { notifyEventsApplied } from '../src/delivery/applied-events-channel';
import { changesOfFold } from '../src/domain/changes';
import { foldEvents, nextDeadlineAt } from '../src/domain/fold';
import type { AccountState, Outcome, Status } from '../src/domain/types';
import type { ActivityDeps } from './deps';

/** Events applied in one transaction at most; more wait for the next batch of the same wake-up. */
export const DEFAULT_BATCH_LIMIT = 200;

export interface ApplyPendingInput {
  account_id: string;
  /**
   * The workflow's state. Absent on a run's first batch: the committed row is the state then.
   * Also replaced by the row when the row has moved past it (an earlier attempt of this batch
   * committed before its answer was recorded).
   */
  state?: AccountState | null;
  limit?: number;
}

/** One line of the account's trail, as the Temporal Web UI shows it in the workflow history. */
export interface AppliedEvent {
  event_id: string;
  event_type: string;
  outcome: Outcome;
  action: string;
  from_status: Status | null;
  to_status: Status | null;
}

export interface ApplyPendingResult {
  applied: AppliedEvent[];
  state: AccountState | null;
  /** More unprocessed events wait than one batch takes. */
  more: boolean;
  /**
   * Subscriptions whose same-second events disagreed in this batch, for the workflow to ask
   * Stripe about. Only where Stripe can be asked (STRIPE_API_KEY); absent when there are none.
   */
  conflicts?: string[];
}

async function startingState(
  db: Db,
  accountId: string,
  given: AccountState | null | undefined,
): Promise<AccountState | null> {
  if (given === undefined) return getAccount(db, accountId);
  const row = await db.query<{ last_event_id: string }>(
    'SELECT last_event_id FROM billing_accounts WHERE account_id = $1::text',
    [accountId],
  );
  const committed = row.rows[0]?.last_event_id ?? null;
  return committed === (given?.last_event_id ?? null) ? given : getAccount(db, accountId);
}

/**
 * Applies every stored, unprocessed event of one account, in id order, in one PostgreSQL
 * transaction: each event's outcome, one audit row per event and the final projection row
 * (SPEC §4.4), and the changes the host app is told of (SPEC §10). The decision is `foldEvents` (src/domain/fold.ts): the same pure `transition` the
 * rebuild folds, and the fold the gate and the account read answer from before this commits. A transaction-level
 * advisory lock on the account serialises attempts, and only rows whose outcome is still NULL
 * are taken, so a retried or duplicated attempt applies nothing twice.
 */
export function createApplyPendingEventsActivity({ pool, logger, stripe }: ActivityDeps) {
  return async (input: ApplyPendingInput): Promise<ApplyPendingResult> => {
    const limit = input.limit ?? DEFAULT_BATCH_LIMIT;
    const { result, notFolded } = await withTransaction(pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, [
        `billing-account:${input.account_id}`,
      ]);
      const initial = await startingState(client, input.account_id, input.state);
      const rows = await lockPendingEvents(client, input.account_id, limit + 1);
      const fold = foldEvents(initial, rows.slice(0, limit).map(toBillingEvent));
      const applied: AppliedEvent[] = [];
      const audits: NewAuditRow[] = [];
      const conflicts = new Set<string>();
      let from = initial?.status ?? null;
      for (const { event, decision } of fold.steps) {
        if (decision.equal_second_conflict)
          conflicts.add(decision.equal_second_conflict.subscription_id);
        const to = decision.state?.status ?? null;
        applied.push({
          event_id: event.event_id,
          event_type: event.event_type,
          outcome: decision.outcome,
          action: decision.audit.action,
          from_status: from,
          to_status: to,
        });
        audits.push({
          account_id: event.account_id,
          action: decision.audit.action,
          actor_role: decision.audit.actor_role,
          actor: decision.audit.actor,
          event_id: event.event_id,
          from_status: from,
          to_status: to,
          details: { outcome: decision.outcome, ...decision.audit.details },
        });
        from = to;
      }
      const state = fold.state;
      await writeOutcomes(
        client,
        applied.map((a) => ({ id: a.event_id, outcome: a.outcome })),
      );
      if (state !== null && applied.some((a) => a.outcome === 'applied'))
        await upsertAccount(client, state, nextDeadlineAt(state));
      await insertAudits(client, audits);
      // What the host app is told (SPEC §10), committed with the projection it describes.
      await insertChanges(client, input.account_id, changesOfFold(initial, fold.steps));
      // On commit, the relay that sent this wake-up learns its events are done. Also when it found
      // nothing pending (an earlier batch took them): every event it can see is applied, and the
      // relay's hold must not wait out its timeout for a notification that would never come.
      const upTo =
        applied.at(-1)?.event_id ?? (await latestProcessedEventId(client, input.account_id));
      if (upTo !== null) await notifyEventsApplied(client, input.account_id, upTo);
      const asks = stripe && conflicts.size > 0 ? { conflicts: [...conflicts] } : {};
      // An event that cannot be folded waits, and the events after it with it, in order.
      const more = fold.not_folded === null && rows.length > limit;
      return { result: { applied, state, more, ...asks }, notFolded: fold.not_folded };
    });
    if (notFolded)
      logger.warn(
        {
          account_id: input.account_id,
          event_id: notFolded.event.event_id,
          event_type: notFolded.event.event_type,
          reason: notFolded.reason,
        },
        'event cannot be applied yet; it and the later events of the account wait',
      );
    if (result.applied.length > 0)
      logger.info(
        {
          account_id: input.account_id,
          events: result.applied.length,
          status: result.state?.status ?? null,
        },
        'events processed',
      );
    return result;
  };
}
