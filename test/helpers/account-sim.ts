// One account's workflow loop without Temporal, for pure tests of the domain: events are decided
// by transition() in delivery order, and the account's timers fire (as timer events, like the
// workflow records them) when the simulated clock passes their deadline.
import { createHash } from 'node:crypto';

import { normalizeMyaspEvent } from '../../src/domain/normalize-myasp';
import { normalizeStripeEvent } from '../../src/domain/normalize-stripe';
import { nextTimer, transition } from '../../src/domain/transition';
import type {
  AccountState,
  BillingEvent,
  Decision,
  EventData,
  NormalizedEvent,
} from '../../src/domain/types';
import type { StripeEventJson } from '../fixtures/stripe';

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

export const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();

export interface SimOptions {
  accountId?: string;
  pastDueGraceMs?: number | null;
}

export class AccountSim {
  state: AccountState | null = null;
  readonly decisions: { event: BillingEvent; decision: Decision }[] = [];
  private readonly decided = new Map<string, Decision>();
  private seq = 0;
  private clock = 0;
  private lastTimerKey: string | null = null;

  constructor(private readonly opts: SimOptions = {}) {}

  get accountId(): string {
    return this.opts.accountId ?? 'acct_sim';
  }

  get status(): string | null {
    return this.state?.status ?? null;
  }

  private toEvent(n: Omit<NormalizedEvent, 'account_hint'>): BillingEvent {
    this.seq += 1;
    return {
      event_id: String(this.seq),
      source: n.source,
      dedupe_key: n.dedupe_key,
      event_type: n.event_type,
      account_id: this.accountId,
      occurred_at: n.occurred_at,
      object_key: n.object_key,
      data: n.data,
    };
  }

  stripe(json: StripeEventJson): BillingEvent {
    const n = normalizeStripeEvent(json, { pastDueGraceMs: this.opts.pastDueGraceMs ?? null });
    return this.toEvent(n);
  }

  myasp(userId: string, status: '1' | '2' | '3' | '4', ts: string): BillingEvent {
    const fields = { user_id: userId, status, ts };
    return this.toEvent(normalizeMyaspEvent(fields, new Date(ts), digest));
  }

  api(data: EventData, at: string, source: 'api' | 'manual' = 'api'): BillingEvent {
    return this.toEvent({
      source,
      dedupe_key: `${source}:${this.seq + 1}`,
      event_type: data.kind,
      occurred_at: at,
      object_key: null,
      data,
    });
  }

  /** A reconcile event as the reconciliation service stores it (source `reconcile`). */
  reconcile(finding: { object_key: string; occurred_at: string; data: EventData }): BillingEvent {
    return this.toEvent({
      source: 'reconcile',
      dedupe_key: `reconcile:${this.seq + 1}`,
      event_type: finding.data.kind,
      ...finding,
    });
  }

  register(trialEnd: string | null, at: string): BillingEvent {
    return this.api(
      {
        kind: 'account.registered',
        trial_end: trialEnd,
        email: null,
        stripe_customer_id: null,
        myasp_user_id: null,
      },
      at,
    );
  }

  /**
   * Decides one event now; timers due before its arrival fire first when `at` is given. An event
   * delivered again (same dedupe key) changes nothing, as billing_events' UNIQUE key and
   * applyTransition's written-once outcome make sure.
   */
  deliver(event: BillingEvent, at?: string): Decision {
    if (at !== undefined) this.advanceTo(at);
    const first = this.decided.get(event.dedupe_key);
    if (first) return { ...first, outcome: 'duplicate', state: this.state };
    const decision = transition(this.state, event);
    this.decided.set(event.dedupe_key, decision);
    this.decisions.push({ event, decision });
    if (decision.outcome === 'applied') this.state = decision.state;
    return decision;
  }

  deliverAll(events: readonly BillingEvent[]): void {
    for (const e of events) this.deliver(e);
  }

  /**
   * Lets the clock pass `at`, firing each timer due by then, as the workflow would: a deadline
   * already behind the clock (an older event, delivered late, moved the account back before it)
   * fires at once, and one timer fires once per state (the workflow's timer key: kind, due time
   * and the state's last event).
   */
  advanceTo(at: string): void {
    const target = Date.parse(at);
    for (let guard = 0; guard < 100; guard += 1) {
      const timer = nextTimer(this.state);
      if (timer === null || Date.parse(timer.due_at) > target) break;
      const key = `${timer.timer}:${timer.due_at}:${this.state?.last_event_id ?? ''}`;
      if (key === this.lastTimerKey) break;
      this.lastTimerKey = key;
      this.clock = Math.max(this.clock, Date.parse(timer.due_at) + 1);
      const fired = this.api(
        { kind: 'timer.fired', timer: timer.timer, due_at: timer.due_at },
        timer.due_at,
      );
      const decision = this.deliver({ ...fired, source: 'timer' });
      if (decision.outcome !== 'applied') break;
    }
    this.clock = Math.max(this.clock, target);
  }
}
