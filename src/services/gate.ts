// Answers "may this account do this action now?" from the projection: no Temporal round trip.
import type pg from 'pg';

import { getGateInputs } from '../db/queries/billing-accounts';
import { decideGate, type GateDecision, isGated, normalizeAction } from '../domain/gate';
import { countGate, type Metrics } from '../metrics';

export interface GateDeps {
  pool: pg.Pool;
  gatedActions: readonly string[];
  metrics?: Metrics;
  now?: () => Date;
}

export async function checkGate(
  deps: GateDeps,
  accountId: string,
  action: string,
): Promise<GateDecision> {
  const gated = isGated(action, deps.gatedActions);
  // One statement on one connection: two in parallel took two pool connections per answer.
  const { account, overrides } = await getGateInputs(deps.pool, accountId, gated);
  const decision = decideGate({
    accountId,
    action,
    account,
    gatedActions: deps.gatedActions,
    overrides,
    now: deps.now?.() ?? new Date(),
  });
  if (deps.metrics) countGate(deps.metrics, normalizeAction(action), decision.allowed);
  return decision;
}
