import { withTransaction } from '../src/db/pool';
import { insertAudit } from '../src/db/queries/audit-logs';
import { endOverride } from '../src/db/queries/gate-overrides';
import type { ActivityDeps } from './deps';

/** Ends a gate override when its durable timer fires; no-op if an operator cleared it first. */
export function createExpireOverrideActivity({ pool }: ActivityDeps) {
  return async (overrideId: string): Promise<boolean> =>
    withTransaction(pool, async (client) => {
      const ended = await endOverride(client, overrideId, 'system', 'expired');
      if (!ended) return false;
      await insertAudit(client, {
        account_id: ended.account_id ?? '*',
        action: 'gate.override_expired',
        actor_role: 'system',
        actor: 'timer',
        event_id: null,
        from_status: null,
        to_status: null,
        details: { override_id: ended.id, expires_at: ended.expires_at, reason: ended.reason },
      });
      return true;
    });
}
