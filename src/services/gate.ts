// Answers "may this account do this action now?" from the projection: no Temporal round trip. An
// acknowledged event the workflow has not applied yet, or a deadline passed before its timer fired,
// is folded in (SPEC §6 "Read your writes"), so the answer is never from before a 200.
import type pg from 'pg';

import { type GateInputs, getGateInputs } from '../db/queries/account-reads';
import {
  decideGate,
  type GateAccount,
  type GateDecision,
  isGated,
  normalizeAction,
  NOTHING_FOLDED,
  type ReadFoldSummary,
} from '../domain/gate';
import { countGate, type Metrics } from '../metrics';
import { gateAccountOf, readAccount } from './account-read';

export interface GateDeps {
  pool: pg.Pool;
  gatedActions: readonly string[];
  metrics?: Metrics;
  now?: () => Date;
}

/**
 * The account as the gate sees it. The common case — nothing pending, no deadline due — is the
 * one statement of getGateInputs; only otherwise is the account read again with its pending
 * events, in one more statement, and folded.
 */
async function gateView(
  deps: GateDeps,
  accountId: string,
  gated: boolean,
  now: Date,
): Promise<{
  account: GateAccount | null;
  read: ReadFoldSummary;
  overrides: GateInputs['overrides'];
}> {
  const inputs = await getGateInputs(deps.pool, accountId, { withOverrides: gated, now });
  if (!inputs.needs_fold) {
    const asOf = inputs.account?.last_event_id ?? null;
    return {
      account: inputs.account,
      read: { ...NOTHING_FOLDED, as_of_event_id: asOf },
      overrides: inputs.overrides,
    };
  }
  const read = await readAccount(deps, accountId, now, 'gate');
  return { account: gateAccountOf(read), read: read.summary, overrides: inputs.overrides };
}

export async function checkGate(
  deps: GateDeps,
  accountId: string,
  action: string,
): Promise<GateDecision> {
  const gated = isGated(action, deps.gatedActions);
  const now = deps.now?.() ?? new Date();
  const { account, read, overrides } = await gateView(deps, accountId, gated, now);
  const decision = decideGate({
    accountId,
    action,
    account,
    gatedActions: deps.gatedActions,
    overrides,
    now,
    read,
  });
  if (deps.metrics) countGate(deps.metrics, normalizeAction(action), decision.allowed);
  return decision;
}
