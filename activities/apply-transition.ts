import { ApplicationFailure } from '@temporalio/activity';

import { withTransaction } from '../src/db/pool';
import { insertAudit } from '../src/db/queries/audit-logs';
import { upsertAccount } from '../src/db/queries/billing-accounts';
import { lockEventOutcome, writeOutcome } from '../src/db/queries/billing-events';
import { FAILURE_TYPES } from '../src/domain/failure-types';
import { nextDeadlineAt } from '../src/domain/fold';
import type { BillingEvent, Decision, Outcome, Status } from '../src/domain/types';
import type { ActivityDeps } from './deps';

export interface ApplyInput {
  event: BillingEvent;
  decision: Decision;
  from_status: Status | null;
}

export interface ApplyResult {
  outcome: Outcome;
  /** True when an earlier attempt already committed this event: nothing was written now. */
  already_processed: boolean;
}

/**
 * Commits one decision: the event's outcome, the projection row (when applied) and the audit
 * row, in one PostgreSQL transaction (SPEC §4.4). Safe to retry: an event whose outcome is
 * already written is left alone.
 */
export function createApplyTransitionActivity({ pool, logger }: ActivityDeps) {
  return async ({ event, decision, from_status }: ApplyInput): Promise<ApplyResult> =>
    withTransaction(pool, async (client) => {
      const current = await lockEventOutcome(client, event.event_id);
      if (!current) {
        throw ApplicationFailure.nonRetryable(
          `Event ${event.event_id} is not in billing_events; it cannot be applied.`,
          FAILURE_TYPES.eventNotStored,
        );
      }
      if (current.outcome !== null) return { outcome: current.outcome, already_processed: true };
      await writeOutcome(client, event.event_id, decision.outcome);
      if (decision.outcome === 'applied' && decision.state)
        await upsertAccount(client, decision.state, nextDeadlineAt(decision.state));
      await insertAudit(client, {
        account_id: event.account_id,
        action: decision.audit.action,
        actor_role: decision.audit.actor_role,
        actor: decision.audit.actor,
        event_id: event.event_id,
        from_status,
        to_status: decision.state?.status ?? null,
        details: { outcome: decision.outcome, ...decision.audit.details },
      });
      logger.info(
        {
          account_id: event.account_id,
          event_id: event.event_id,
          outcome: decision.outcome,
          action: decision.audit.action,
        },
        'event processed',
      );
      return { outcome: decision.outcome, already_processed: false };
    });
}
