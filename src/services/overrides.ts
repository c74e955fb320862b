// Emergency gate overrides (SPEC §2): time-boxed, audited, expiring by a durable timer.
import { randomUUID } from 'node:crypto';

import type pg from 'pg';

import { withTransaction } from '../db/pool';
import { insertAudit } from '../db/queries/audit-logs';
import { endOverride, insertOverride, type OverrideRow } from '../db/queries/gate-overrides';
import { parseDurationMs } from '../domain/duration';
import { AppError } from '../domain/errors';
import {
  type BillingTemporal,
  signalOverrideCleared,
  startOverrideTimer,
} from '../temporal/client';

export interface OverrideDeps {
  pool: pg.Pool;
  temporal: BillingTemporal;
}

/** `ttl` such as 30m, 2h or 1d from now, as an ISO time; `field` names the input in the message. */
export function expiryFromTtl(ttl: string | undefined, now: Date, field: string): string {
  let ms: number | null;
  try {
    ms = parseDurationMs(ttl);
  } catch {
    ms = null;
  }
  if (!ms) {
    throw new AppError(
      'invalid_ttl',
      `${field} "${ttl ?? ''}" is not a duration; use e.g. 30m, 2h or 1d.`,
      400,
    );
  }
  return new Date(now.getTime() + ms).toISOString();
}

export interface SetOverrideInput {
  account_id: string | null;
  actions: string[];
  reason: string;
  actor: string;
  expires_at: string;
}

export async function setOverride(
  deps: OverrideDeps,
  input: SetOverrideInput,
  now: Date,
): Promise<{ override: OverrideRow; expiry_timer: 'started' | 'pending' }> {
  const expires = Date.parse(input.expires_at);
  if (Number.isNaN(expires) || expires <= now.getTime()) {
    throw new AppError(
      'invalid_expires_at',
      'expires_at must be a time in the future (ISO-8601), e.g. two hours from now.',
      400,
    );
  }
  if (input.reason.trim() === '') {
    throw new AppError(
      'missing_reason',
      'A gate override needs a reason; say what emergency it covers.',
      400,
    );
  }
  const id = `ovr_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const override = await withTransaction(deps.pool, async (client) => {
    const row = await insertOverride(client, {
      id,
      account_id: input.account_id,
      actions: input.actions,
      reason: input.reason,
      created_by: input.actor,
      expires_at: new Date(expires).toISOString(),
    });
    await insertAudit(client, {
      account_id: row.account_id ?? '*',
      action: 'gate.override_set',
      actor_role: 'operator',
      actor: input.actor,
      event_id: null,
      from_status: null,
      to_status: null,
      details: {
        override_id: row.id,
        actions: row.actions,
        reason: row.reason,
        expires_at: row.expires_at,
      },
    });
    return row;
  });
  // The gate already ignores an override past expires_at; the timer records the expiry.
  const expiry_timer = await startOverrideTimer(deps.temporal, override, 5000).then(
    () => 'started' as const,
    () => 'pending' as const,
  );
  return { override, expiry_timer };
}

export async function clearOverride(
  deps: OverrideDeps,
  id: string,
  actor: string,
  reason: string,
): Promise<OverrideRow> {
  const ended = await withTransaction(deps.pool, async (client) => {
    const row = await endOverride(client, id, actor, reason);
    if (!row) return null;
    await insertAudit(client, {
      account_id: row.account_id ?? '*',
      action: 'gate.override_cleared',
      actor_role: 'operator',
      actor,
      event_id: null,
      from_status: null,
      to_status: null,
      details: { override_id: row.id, reason },
    });
    return row;
  });
  if (!ended) {
    throw new AppError(
      'override_not_found',
      `Gate override ${id} does not exist or has already ended; list live ones with gate-override list.`,
      404,
    );
  }
  await signalOverrideCleared(deps.temporal, id, 5000).catch(() => undefined);
  return ended;
}
