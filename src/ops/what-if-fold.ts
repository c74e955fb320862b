// The what-if's fold (SPEC §7): every processed event through the same `transition` the rebuild
// folds, twice — as stored (today's settings) and as it would have been stored under the proposed
// settings (src/domain/policy.ts) — with the two decisions shared while nothing differs. Then the
// status and the gate answer each account has, both ways, at one instant.
import type { FoldedEvent } from '../db/queries/billing-events';
import { toBillingEvent } from '../db/queries/billing-events';
import { passDeadlines } from '../domain/fold';
import { decideGate, type GateAccount, type GateDecision } from '../domain/gate';
import { type PolicySettings, underPolicy } from '../domain/policy';
import { transition } from '../domain/transition';
import type { AccountState, BillingEvent, Decision } from '../domain/types';

/** The two folds of one account, and since which event their statuses differ. */
interface Pair {
  now: AccountState | null;
  would: AccountState | null;
  /** billing_events.id of the event after which the statuses have differed; null: same. */
  differs_since: string | null;
}

export interface FoldedStep {
  event: BillingEvent;
  /** The event as the proposed settings would have stored it (the same object when unchanged). */
  proposed: BillingEvent;
  now: Decision;
  would: Decision;
}

/** What each side answers at one instant: the gate, per action, and the status. */
export interface Answer {
  status: string | null;
  /** action → allowed, with the gate's reason (`status:past_due`, `grace:…`, `not_gated`). */
  gate: Record<string, { allowed: boolean; reason: string }>;
}

export interface AccountComparison {
  account_id: string;
  now: Answer;
  would: Answer;
  /**
   * The event that makes the difference: the one since which the statuses differ, else the one
   * that set the status the gate answers from (a billing_events id), or a deadline's key.
   */
  event_id: string | null;
}

const settle = (before: AccountState | null, d: Decision) =>
  d.outcome === 'applied' ? d.state : before;

export class WhatIfFold {
  private readonly pairs = new Map<string, Pair>();
  events = 0;

  constructor(private readonly settings: PolicySettings) {}

  /** Folds one processed event both ways. */
  visit(row: FoldedEvent): FoldedStep {
    const event = toBillingEvent(row);
    const proposed = underPolicy(event, this.settings, row);
    const pair = this.pairs.get(row.account_id) ?? { now: null, would: null, differs_since: null };
    const now = transition(pair.now, event);
    const shared = proposed === event && pair.would === pair.now;
    const would = shared ? now : transition(pair.would, proposed);
    const nowState = settle(pair.now, now);
    pair.now = nowState;
    pair.would = shared ? nowState : settle(pair.would, would);
    if ((pair.now?.status ?? null) === (pair.would?.status ?? null)) pair.differs_since = null;
    else pair.differs_since ??= event.event_id;
    this.pairs.set(row.account_id, pair);
    this.events += 1;
    return { event, proposed, now, would };
  }

  /**
   * Folds one processed event under the proposed settings only: answering now, today's side is
   * the projection itself (`useProjection`), which rebuild-projection keeps equal to the fold.
   */
  visitProposed(row: FoldedEvent): void {
    const proposed = underPolicy(toBillingEvent(row), this.settings, row);
    const pair = this.pairs.get(row.account_id) ?? { now: null, would: null, differs_since: null };
    pair.would = settle(pair.would, transition(pair.would, proposed));
    this.pairs.set(row.account_id, pair);
    this.events += 1;
  }

  /** Today's side of an account from its billing_accounts row (see visitProposed). */
  useProjection(row: AccountState): void {
    const pair = this.pairs.get(row.account_id) ?? { now: null, would: null, differs_since: null };
    pair.now = row;
    this.pairs.set(row.account_id, pair);
  }

  accounts(): IterableIterator<[string, Pair]> {
    return this.pairs.entries();
  }
}

function gateAccount(state: AccountState): GateAccount {
  return {
    status: state.status,
    status_since: state.status_since,
    status_event_ref: null,
    status_event_id: state.status_event_id,
    grace_until: state.grace_until,
    status_object: state.status_object,
    status_reason: state.status_reason,
  };
}

/**
 * The gate's answer for `action`, from the policy alone: gate overrides are left out (they are an
 * operator's emergency measure and expire by themselves; a what-if compares policies).
 */
export function gateAnswer(
  accountId: string,
  state: AccountState | null,
  action: string,
  gatedActions: readonly string[],
  at: Date,
): GateDecision {
  return decideGate({
    accountId,
    action,
    account: state ? gateAccount(state) : null,
    gatedActions,
    overrides: [],
    now: at,
  });
}

export interface CompareInput {
  /** ISO-8601: the instant both sides answer at (now, or --at). */
  at: string;
  gated_now: readonly string[];
  gated_would: readonly string[];
  /**
   * Which side honours the deadlines passed by `at` whose timer is not in the log. Answering now,
   * both (as the gate does, SPEC §6). Answering at a past time, today's side answers from the log
   * as it stood (the audit trail's answer, timers included); the proposed side honours them when
   * the proposed settings move a deadline, since no timer of its own was ever recorded.
   */
  deadlines: { now: boolean; would: boolean };
}

/** Whose deadlines `compareAccount` honours: see CompareInput.deadlines. */
export function deadlinesHonoured(
  asOfLog: string | null,
  foldChanges: boolean,
): CompareInput['deadlines'] {
  return asOfLog === null ? { now: true, would: true } : { now: false, would: foldChanges };
}

/** The actions whose answer is compared: every action either side gates. */
export function comparedActions(input: CompareInput): string[] {
  return [...new Set([...input.gated_now, ...input.gated_would])].sort();
}

function answer(
  accountId: string,
  state: AccountState | null,
  actions: readonly string[],
  gated: readonly string[],
  at: Date,
): Answer {
  const gate: Answer['gate'] = {};
  for (const action of actions) {
    const d = gateAnswer(accountId, state, action, gated, at);
    gate[action] = { allowed: d.allowed, reason: d.reason };
  }
  return { status: state?.status ?? null, gate };
}

/**
 * One account, both ways, at `input.at`: each fold with the deadlines passed by then honoured
 * where `input.deadlines` says so, then the gate per action.
 */
export function compareAccount(
  accountId: string,
  pair: { now: AccountState | null; would: AccountState | null; differs_since: string | null },
  input: CompareInput,
): AccountComparison {
  const at = new Date(input.at);
  const passed = (state: AccountState | null, honour: boolean) =>
    honour ? passDeadlines(state, at).state : state;
  const now = passed(pair.now, input.deadlines.now);
  const sameFold = pair.would === pair.now && input.deadlines.now === input.deadlines.would;
  const would = sameFold ? now : passed(pair.would, input.deadlines.would);
  const actions = comparedActions(input);
  const a = answer(accountId, now, actions, input.gated_now, at);
  const b = answer(accountId, would, actions, input.gated_would, at);
  const statusDiffers = a.status !== b.status;
  const event_id =
    (statusDiffers ? pair.differs_since : null) ??
    would?.status_event_id ??
    now?.status_event_id ??
    null;
  return { account_id: accountId, now: a, would: b, event_id };
}
