// A model of what each billing object really is, and of the webhooks Stripe and MyASP send about
// it, for the property test of the derived status. Written from SPEC §2–§3 and Stripe's documented
// behaviour, independent of src/domain (types only): the model knows the truth — each
// subscription's status, its invoices, its dunning spell — and what the account's status must
// be; the account loop sees only the events.
//
// Stripe's emission rules it follows:
// - Checkout paid on the spot sends `customer.subscription.created` (incomplete), `invoice.paid`
//   (billing_reason subscription_create), `customer.subscription.updated` (active) and
//   `checkout.session.completed` within one second; a konbini/bank-transfer Checkout sends the
//   `created` and an unpaid `checkout.session.completed`, then, when paid, `invoice.paid`,
//   `updated` and `checkout.session.async_payment_succeeded` in one second (or
//   `async_payment_failed`, and the subscription expires).
// - Invoices have ids, their own `created` and a billing_reason; a subscription's status follows
//   its latest invoice. A snapshot is sent only when the status (or the cancel, the period, a
//   pending update, a pause) changes: paying an older invoice while a newer one is unpaid, or a
//   Smart Retry failing on an older invoice after a newer one was paid, sends none.
// - A renewal sends the period's snapshot, then its payment attempt an hour later.
// - A plan change with pending_if_incomplete whose invoice fails keeps the subscription active
//   and shows a pending_update (which expires after 23 hours, its invoice voided); with the
//   default allow_incomplete it goes past_due.
// - send_invoice subscriptions are active from creation and their open invoices wait; only an
//   overdue `past_due` snapshot starts dunning.
// - Voiding or writing off (uncollectible) the latest unpaid invoice ends dunning.
// - `paused` says why in status_details (API 2026-09-30.endive): the customer asked, the trial
//   ended without a payment method, or a payment failed.
// - The host app may register the account at any time; an operator's correction holds until newer
//   provider evidence, and one to a trial status until the trial ends.
import type { BillingEvent, Status } from '../../src/domain/types';
import * as fx from '../fixtures/stripe';
import {
  mockCheckoutSession,
  mockEvent,
  mockInvoice,
  mockSubscription,
} from '../fixtures/stripe-mock';
import { type AccountSim, iso } from './account-sim';

export const DAY = 86_400;
export const T0 = fx.DEFAULT_CREATED;
const HOUR = 3600;
const CUSTOMER = 'cus_model';

type SubStatus =
  | 'incomplete'
  | 'incomplete_expired'
  | 'trialing'
  | 'active'
  | 'past_due'
  | 'unpaid'
  | 'paused'
  | 'canceled';
type PauseReason = 'pause_requested' | 'trial_end_without_payment_method' | 'first_payment_failure';

interface TrueInvoice {
  id: string;
  created: number;
  state: 'open' | 'paid' | 'void' | 'uncollectible';
  reason: string;
}

interface TrueSub {
  id: string;
  status: SubStatus;
  collection: 'charge_automatically' | 'send_invoice';
  cancelAt: number | null;
  trialEnd: number | null;
  /** Its trial ends without a payment method, so it pauses then. */
  trialPauses: boolean;
  periodEnd: number;
  pausedReason: PauseReason | null;
  /** A plan change waiting for its invoice (pending_if_incomplete), until it expires. */
  pending: { invoice: string; expires: number } | null;
  /** A konbini Checkout: its payment is awaited, or never came. */
  konbini: 'awaiting' | 'failed' | null;
  /** In the order they were created. */
  invoices: TrueInvoice[];
  lastAt: number;
  /** When its current dunning spell began (SPEC §3 rule 10); null while it is not dunning. */
  spellStart: number | null;
}

/** Which payload builder and API shape: hand-written fixtures, or Stripe's own (stripe-mock). */
export type Variant = { shape: fx.PayloadShape; stripeMock: boolean };

export interface Emitted {
  build: (sim: AccountSim, v: Variant) => BillingEvent;
  label: string;
  created: number;
  /** The host app's or an operator's: delivered before anything created after it exists. */
  api: boolean;
}

export type SubKind =
  | 'cancel'
  | 'withdraw'
  | 'delete'
  | 'pause'
  | 'resume'
  | 'expire'
  | 'overdue'
  | 'exhaust'
  | 'asyncPay'
  | 'asyncFail';

export type Action =
  | {
      kind: 'create';
      start: 'checkout' | 'trialing' | 'incomplete' | 'konbini' | 'invoiced';
      trialDays: number;
      trialPauses: boolean;
      dt: number;
    }
  | {
      kind: 'renew';
      sub: number;
      ok: boolean;
      pause: boolean;
      /** Smart Retries of the oldest unpaid invoice afterwards, two days apart: paid or not. */
      retries: boolean[];
      dt: number;
    }
  | { kind: 'retry'; sub: number; invoice: number; ok: boolean; dt: number }
  | { kind: 'void' | 'writeOff'; sub: number; invoice: number; dt: number }
  | { kind: 'upgrade'; sub: number; ok: boolean; pending: boolean; dt: number }
  | { kind: SubKind; sub: number; dt: number }
  | { kind: 'oneOff'; paid: boolean; dt: number }
  | { kind: 'myasp'; code: '1' | '2' | '3' | '4'; dt: number }
  | { kind: 'register'; trialDays: number; dt: number }
  | { kind: 'correct'; status: Exclude<Status, 'canceling'>; dt: number };

export interface Scenario {
  /** Registered at the start with this trial (0: none); null: not at the start. */
  trialDays: number | null;
  /** PAST_DUE_GRACE; null: none. */
  graceMs: number | null;
  actions: Action[];
  tail: number;
}

export interface Expected {
  status: Status;
  scheduled_cancel_at: string | null;
  grace_until: string | null;
}

type SnapshotType = 'created' | 'updated' | 'deleted' | 'paused' | 'resumed';
type InvoiceEventType = 'paid' | 'failed' | 'void' | 'uncollectible';

const INVOICE_EVENTS: Record<InvoiceEventType, string> = {
  paid: 'invoice.paid',
  failed: 'invoice.payment_failed',
  void: 'invoice.voided',
  uncollectible: 'invoice.marked_uncollectible',
};
const INVOICE_FIXTURES = {
  paid: fx.invoicePaid,
  failed: fx.invoicePaymentFailed,
  void: fx.invoiceVoided,
  uncollectible: fx.invoiceMarkedUncollectible,
};
const SNAPSHOT_FIXTURES = {
  created: fx.subscriptionCreated,
  updated: fx.subscriptionUpdated,
  deleted: fx.subscriptionDeleted,
  paused: fx.subscriptionPaused,
  resumed: fx.subscriptionResumed,
};

function dunning(sub: TrueSub): boolean {
  if (sub.status === 'past_due' || sub.status === 'unpaid') return true;
  return sub.status === 'paused' && sub.pausedReason !== 'pause_requested';
}

export class World {
  now = T0;
  readonly subs: TrueSub[] = [];
  membership: { code: '1' | '2' | '3' | '4'; at: number } | null = null;
  registered = false;
  registeredTrialEnd: number | null = null;
  manual: { status: Status; at: number } | null = null;
  readonly events: Emitted[] = [];

  constructor(readonly scenario: Scenario) {
    if (scenario.trialDays !== null) this.register(scenario.trialDays);
  }

  // -------------------------------------------------------------------------------------------
  // Emitting

  private emit(label: string, created: number, build: Emitted['build'], api = false): void {
    this.events.push({ label, created, build, api });
  }

  /** Provider evidence about a subscription or the membership, newer than a correction, ends it. */
  private evidence(created: number): void {
    if (this.manual !== null && created > this.manual.at) this.manual = null;
  }

  private snapshot(sub: TrueSub, at: number, type: SnapshotType): void {
    sub.lastAt = at;
    this.evidence(at);
    const latest = sub.invoices.at(-1)?.id;
    const status = sub.status;
    const o = {
      subscriptionId: sub.id,
      customerId: CUSTOMER,
      created: at,
      status,
      currentPeriodStart: sub.periodEnd - 30 * DAY,
      currentPeriodEnd: sub.periodEnd,
      cancelAt: sub.cancelAt,
      trialEnd: status === 'trialing' ? sub.trialEnd : null,
      requestId: null,
      ...(latest ? { latestInvoiceId: latest } : {}),
      pendingUpdate: sub.pending !== null,
      collectionMethod: sub.collection,
    };
    const cancel = sub.cancelAt === null ? '-' : iso(sub.cancelAt);
    const label =
      `${type} ${sub.id} status=${status}${sub.pausedReason ? `(${sub.pausedReason})` : ''} ` +
      `cancel_at=${cancel}${sub.pending ? ' pending_update' : ''} latest=${latest ?? '-'}`;
    const reason = sub.pausedReason;
    this.emit(label, at, (sim, v) => {
      // Why a subscription is paused exists only from API 2026-09-30.endive on (basil shape).
      if (status === 'paused' && reason !== null) {
        return sim.stripe(SNAPSHOT_FIXTURES[type]({ ...o, shape: 'basil', pausedReason: reason }));
      }
      if (!v.stripeMock) return sim.stripe(SNAPSHOT_FIXTURES[type]({ ...o, shape: v.shape }));
      const object = mockSubscription(
        {
          ...o,
          periodEnd: sub.periodEnd,
          latestInvoiceId: latest ?? null,
        },
        v.shape,
      );
      return sim.stripe(mockEvent(`customer.subscription.${type}`, object, at, v.shape));
    });
  }

  private invoice(sub: TrueSub, inv: TrueInvoice, type: InvoiceEventType, at: number): void {
    sub.lastAt = at;
    this.evidence(at);
    const o = {
      subscriptionId: sub.id,
      customerId: CUSTOMER,
      created: at,
      invoiceId: inv.id,
      invoiceCreated: inv.created,
      billingReason: inv.reason,
      collectionMethod: sub.collection,
    };
    this.emit(`${INVOICE_EVENTS[type]} ${inv.id} (${inv.reason})`, at, (sim, v) => {
      if (!v.stripeMock) return sim.stripe(INVOICE_FIXTURES[type]({ ...o, shape: v.shape }));
      const status = type === 'void' || type === 'uncollectible' ? type : undefined;
      const object = mockInvoice(
        { ...o, paid: type === 'paid', ...(status ? { status } : {}) },
        v.shape,
      );
      return sim.stripe(mockEvent(INVOICE_EVENTS[type], object, at, v.shape));
    });
  }

  private checkout(
    sub: TrueSub,
    type: 'completed' | 'async_payment_succeeded' | 'async_payment_failed',
    paid: boolean,
    at: number,
  ): void {
    this.evidence(at);
    const first = sub.invoices[0] as TrueInvoice;
    const o = {
      customerId: CUSTOMER,
      subscriptionId: sub.id,
      invoiceId: first.id,
      created: at,
      sessionCreated: first.created - 60,
    };
    const fixture =
      type === 'completed'
        ? fx.checkoutSessionCompleted
        : type === 'async_payment_succeeded'
          ? fx.checkoutSessionAsyncPaymentSucceeded
          : fx.checkoutSessionAsyncPaymentFailed;
    this.emit(`checkout.session.${type} ${sub.id} paid=${paid}`, at, (sim, v) => {
      if (!v.stripeMock) {
        return sim.stripe(
          fixture({ ...o, shape: v.shape, paymentStatus: paid ? 'paid' : 'unpaid' }),
        );
      }
      const session = mockCheckoutSession({ ...o, paymentStatus: paid ? 'paid' : 'unpaid' });
      session.created = o.sessionCreated;
      return sim.stripe(mockEvent(`checkout.session.${type}`, session, at, v.shape));
    });
  }

  private register(trialDays: number): void {
    this.registered = true;
    this.registeredTrialEnd = trialDays === 0 ? null : this.now + trialDays * DAY;
    const trialEnd = this.registeredTrialEnd === null ? null : iso(this.registeredTrialEnd);
    const at = iso(this.now);
    this.emit(
      `register trial_end=${trialEnd ?? '-'}`,
      this.now,
      (sim) => sim.register(trialEnd, at),
      true,
    );
  }

  private correct(status: Exclude<Status, 'canceling'>): void {
    this.manual = { status, at: this.now };
    const at = iso(this.now);
    const data = {
      kind: 'manual.correction' as const,
      status,
      reason: 'model',
      actor: 'ops',
      scheduled_cancel_at: null,
    };
    this.emit(`correct to ${status}`, this.now, (sim) => sim.api(data, at, 'manual'), true);
  }

  // -------------------------------------------------------------------------------------------
  // The truth

  private setStatus(
    sub: TrueSub,
    status: SubStatus,
    at: number,
    paused: PauseReason | null = null,
  ): void {
    const was = dunning(sub);
    sub.status = status;
    sub.pausedReason = status === 'paused' ? paused : null;
    if (!dunning(sub)) sub.spellStart = null;
    else if (!was) sub.spellStart = at;
  }

  private newInvoice(sub: TrueSub, reason: string, at: number): TrueInvoice {
    const inv: TrueInvoice = {
      id: `in_${sub.id}_${sub.invoices.length + 1}`,
      created: at,
      state: 'open',
      reason,
    };
    sub.invoices.push(inv);
    return inv;
  }

  /** The latest invoice that still stands (voided ones drop out). */
  private latest(sub: TrueSub): TrueInvoice | undefined {
    return sub.invoices.filter((i) => i.state !== 'void').at(-1);
  }

  /** After an invoice is paid, voided or written off: the latest one decides a dunning status. */
  private settle(sub: TrueSub, at: number): void {
    const latest = this.latest(sub);
    const unpaid = latest !== undefined && latest.state === 'open';
    if ((sub.status === 'past_due' || sub.status === 'unpaid') && !unpaid) {
      this.setStatus(sub, 'active', at);
      this.snapshot(sub, at, 'updated');
    }
  }

  /** What Stripe does by itself as time passes: trials end, scheduled cancels end, pending updates expire. */
  private passTo(t: number): void {
    for (;;) {
      const due = this.subs
        .flatMap((s) => [
          s.status === 'trialing' && s.trialEnd !== null && s.trialEnd <= t
            ? { at: s.trialEnd, sub: s, what: 'trial' as const }
            : null,
          s.cancelAt !== null && s.status !== 'canceled' && s.cancelAt <= t
            ? { at: s.cancelAt, sub: s, what: 'cancel' as const }
            : null,
          s.pending !== null && s.pending.expires <= t
            ? { at: s.pending.expires, sub: s, what: 'pending' as const }
            : null,
        ])
        .filter((x) => x !== null)
        .sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      const at = Math.max(due.at, due.sub.lastAt + 1);
      this.now = Math.max(this.now, at);
      if (due.what === 'trial') this.trialEnds(due.sub, at);
      else if (due.what === 'cancel') this.end(due.sub, at);
      else this.expirePending(due.sub, at);
    }
    this.now = Math.max(this.now, t);
  }

  private trialEnds(sub: TrueSub, at: number): void {
    if (sub.trialPauses) {
      this.setStatus(sub, 'paused', at, 'trial_end_without_payment_method');
      this.snapshot(sub, at, 'paused');
      return;
    }
    const inv = this.newInvoice(sub, 'subscription_cycle', at);
    inv.state = 'paid';
    sub.periodEnd = Math.max(sub.periodEnd, at + 30 * DAY);
    this.setStatus(sub, 'active', at);
    this.invoice(sub, inv, 'paid', at);
    this.snapshot(sub, at, 'updated');
  }

  private end(sub: TrueSub, at: number): void {
    this.setStatus(sub, 'canceled', at);
    sub.cancelAt = null;
    sub.pending = null;
    this.snapshot(sub, at, 'deleted');
  }

  private expirePending(sub: TrueSub, at: number): void {
    const inv = sub.invoices.find((i) => i.id === sub.pending?.invoice) as TrueInvoice;
    sub.pending = null;
    if (inv.state === 'open') {
      inv.state = 'void';
      this.invoice(sub, inv, 'void', at);
    }
    this.snapshot(sub, at, 'updated');
  }

  private open(index: number): TrueSub | undefined {
    const open = this.subs.filter(
      (s) => s.status !== 'canceled' && s.status !== 'incomplete_expired',
    );
    return open.length === 0 ? undefined : open[index % open.length];
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  apply(a: Action): void {
    this.passTo(this.now + a.dt);
    if (a.kind === 'create') return this.create(a);
    if (a.kind === 'oneOff') return this.oneOff(a.paid);
    if (a.kind === 'myasp') return this.myasp(a.code);
    if (a.kind === 'register') return this.registered ? undefined : this.register(a.trialDays);
    if (a.kind === 'correct') return this.correct(a.status);
    const sub = this.open(a.sub);
    if (!sub) return;
    const t = Math.max(this.now, sub.lastAt + 1);
    this.now = t;
    switch (a.kind) {
      case 'renew':
        this.renew(sub, t, a.ok, a.pause);
        return this.smartRetries(sub, a.retries);
      case 'retry':
        return this.retry(sub, t, a.invoice, a.ok);
      case 'void':
      case 'writeOff':
        return this.close(sub, t, a.invoice, a.kind);
      case 'upgrade':
        return this.upgrade(sub, t, a.ok, a.pending);
      default:
        return this.subscriptionAction(sub, t, a.kind);
    }
  }

  private create(a: Extract<Action, { kind: 'create' }>): void {
    if (this.subs.length >= 3) return;
    const t = this.now;
    const sub: TrueSub = {
      id: `sub_m${this.subs.length + 1}`,
      status: 'incomplete',
      collection: a.start === 'invoiced' ? 'send_invoice' : 'charge_automatically',
      cancelAt: null,
      trialEnd: a.start === 'trialing' ? t + a.trialDays * DAY : null,
      trialPauses: a.start === 'trialing' && a.trialPauses,
      periodEnd: t + 30 * DAY,
      pausedReason: null,
      pending: null,
      konbini: a.start === 'konbini' ? 'awaiting' : null,
      invoices: [],
      lastAt: t - 1,
      spellStart: null,
    };
    this.subs.push(sub);
    const first = this.newInvoice(sub, 'subscription_create', t);
    switch (a.start) {
      case 'checkout':
        this.snapshot(sub, t, 'created');
        first.state = 'paid';
        this.invoice(sub, first, 'paid', t);
        this.setStatus(sub, 'active', t);
        this.snapshot(sub, t, 'updated');
        return this.checkout(sub, 'completed', true, t);
      case 'trialing':
        this.setStatus(sub, 'trialing', t);
        this.snapshot(sub, t, 'created');
        first.state = 'paid';
        return this.invoice(sub, first, 'paid', t);
      case 'incomplete':
        this.snapshot(sub, t, 'created');
        return this.invoice(sub, first, 'failed', t);
      case 'konbini':
        this.snapshot(sub, t, 'created');
        return this.checkout(sub, 'completed', false, t);
      case 'invoiced':
        this.setStatus(sub, 'active', t);
        return this.snapshot(sub, t, 'created');
    }
  }

  private renew(sub: TrueSub, t: number, ok: boolean, pause: boolean): void {
    const renewing = sub.status === 'active' || sub.status === 'past_due';
    if (!renewing || sub.cancelAt !== null || sub.pending !== null) return;
    const inv = this.newInvoice(sub, 'subscription_cycle', t);
    sub.periodEnd = t + 30 * DAY;
    this.snapshot(sub, t, 'updated');
    if (sub.collection === 'send_invoice') return; // an open invoice waits for the bank transfer
    const attempt = t + HOUR;
    this.now = attempt;
    if (ok) {
      inv.state = 'paid';
      this.invoice(sub, inv, 'paid', attempt);
      return this.settle(sub, attempt);
    }
    this.invoice(sub, inv, 'failed', attempt);
    if (sub.status !== 'active') return; // already dunning: no snapshot
    if (pause) {
      this.setStatus(sub, 'paused', attempt, 'first_payment_failure');
      return this.snapshot(sub, attempt, 'paused');
    }
    this.setStatus(sub, 'past_due', attempt);
    this.snapshot(sub, attempt, 'updated');
  }

  /** Stripe's Smart Retries go on with the oldest unpaid invoice, also after a newer one was paid. */
  private smartRetries(sub: TrueSub, outcomes: readonly boolean[]): void {
    if (sub.collection !== 'charge_automatically') return;
    for (const ok of outcomes) {
      const t = Math.max(this.now + 2 * DAY, sub.lastAt + 1);
      this.now = t;
      this.retry(sub, t, 0, ok);
    }
  }

  /** A Smart Retry (or, for send_invoice, the customer's transfer) of one open invoice. */
  private retry(sub: TrueSub, t: number, index: number, ok: boolean): void {
    if (!['active', 'past_due', 'unpaid', 'incomplete'].includes(sub.status)) return;
    if (sub.konbini !== null) return;
    const open = sub.invoices.filter((i) => i.state === 'open');
    const inv = open[index % Math.max(1, open.length)];
    if (!inv) return;
    if (!ok) return this.invoice(sub, inv, 'failed', t);
    inv.state = 'paid';
    this.invoice(sub, inv, 'paid', t);
    if (sub.status === 'incomplete') {
      this.setStatus(sub, 'active', t);
      return this.snapshot(sub, t, 'updated');
    }
    if (sub.pending?.invoice === inv.id) {
      sub.pending = null;
      return this.snapshot(sub, t, 'updated');
    }
    this.settle(sub, t);
  }

  private close(sub: TrueSub, t: number, index: number, how: 'void' | 'writeOff'): void {
    if (!['active', 'past_due', 'unpaid'].includes(sub.status)) return;
    const open = sub.invoices.filter(
      (i) => i.state === 'open' && (how === 'void' || i.id !== sub.pending?.invoice),
    );
    const inv = open[index % Math.max(1, open.length)];
    if (!inv) return;
    inv.state = how === 'void' ? 'void' : 'uncollectible';
    this.invoice(sub, inv, how === 'void' ? 'void' : 'uncollectible', t);
    if (sub.pending?.invoice === inv.id) {
      sub.pending = null;
      return this.snapshot(sub, t, 'updated');
    }
    this.settle(sub, t);
  }

  private upgrade(sub: TrueSub, t: number, ok: boolean, pending: boolean): void {
    const plain = sub.status === 'active' && sub.collection === 'charge_automatically';
    if (!plain || sub.cancelAt !== null || sub.pending !== null) return;
    const inv = this.newInvoice(sub, 'subscription_update', t);
    if (ok) {
      inv.state = 'paid';
      this.invoice(sub, inv, 'paid', t);
      return this.snapshot(sub, t, 'updated');
    }
    this.invoice(sub, inv, 'failed', t);
    if (pending) sub.pending = { invoice: inv.id, expires: t + 23 * HOUR };
    else this.setStatus(sub, 'past_due', t);
    this.snapshot(sub, t, 'updated');
  }

  private subscriptionAction(sub: TrueSub, t: number, kind: SubKind): void {
    switch (kind) {
      case 'cancel':
        if (sub.status === 'incomplete' || sub.status === 'paused') return;
        sub.cancelAt = sub.periodEnd;
        return this.snapshot(sub, t, 'updated');
      case 'withdraw':
        if (sub.cancelAt === null) return;
        sub.cancelAt = null;
        return this.snapshot(sub, t, 'updated');
      case 'delete':
        return this.end(sub, t);
      case 'pause':
        if (sub.status !== 'active' || sub.cancelAt !== null || sub.pending !== null) return;
        this.setStatus(sub, 'paused', t, 'pause_requested');
        return this.snapshot(sub, t, 'paused');
      case 'resume': {
        if (sub.status !== 'paused') return;
        const inv = this.newInvoice(sub, 'subscription_cycle', t);
        inv.state = 'paid';
        this.invoice(sub, inv, 'paid', t);
        this.setStatus(sub, 'active', t);
        return this.snapshot(sub, t, 'resumed');
      }
      case 'expire': {
        if (sub.status !== 'incomplete') return;
        const first = sub.invoices[0] as TrueInvoice;
        if (first.state === 'open') {
          first.state = 'void';
          this.invoice(sub, first, 'void', t);
        }
        this.setStatus(sub, 'incomplete_expired', t);
        return this.snapshot(sub, t, 'updated');
      }
      case 'overdue':
        if (sub.collection !== 'send_invoice' || sub.status !== 'active') return;
        if (this.latest(sub)?.state !== 'open') return;
        this.setStatus(sub, 'past_due', t);
        return this.snapshot(sub, t, 'updated');
      case 'exhaust':
        if (sub.status !== 'past_due') return;
        this.setStatus(sub, 'unpaid', t);
        return this.snapshot(sub, t, 'updated');
      case 'asyncPay': {
        if (sub.konbini !== 'awaiting' || sub.status !== 'incomplete') return;
        const first = sub.invoices[0] as TrueInvoice;
        first.state = 'paid';
        sub.konbini = null;
        this.invoice(sub, first, 'paid', t);
        this.setStatus(sub, 'active', t);
        this.snapshot(sub, t, 'updated');
        return this.checkout(sub, 'async_payment_succeeded', true, t);
      }
      case 'asyncFail':
        if (sub.konbini !== 'awaiting' || sub.status !== 'incomplete') return;
        sub.konbini = 'failed';
        return this.checkout(sub, 'async_payment_failed', false, t);
    }
  }

  private oneOff(paid: boolean): void {
    const at = this.now;
    const o = { subscriptionId: null, customerId: CUSTOMER, created: at };
    const type = paid ? 'invoice.paid' : 'invoice.payment_failed';
    this.emit(`${type} one-off`, at, (sim, v) =>
      sim.stripe(
        v.stripeMock
          ? mockEvent(type, mockInvoice({ ...o, paid }, v.shape), at, v.shape)
          : paid
            ? fx.invoicePaid({ ...o, shape: v.shape })
            : fx.invoicePaymentFailed({ ...o, shape: v.shape }),
      ),
    );
  }

  private myasp(code: '1' | '2' | '3' | '4'): void {
    // MyASP's ts has one-second resolution: one member's posts are a second apart at least.
    if (this.membership) this.now = Math.max(this.now, this.membership.at + 1);
    this.membership = { code, at: this.now };
    this.evidence(this.now);
    const ts = iso(this.now);
    this.emit(`myasp status=${code}`, this.now, (sim) => sim.myasp('m1', code, ts));
  }

  finish(): number {
    this.passTo(this.now + this.scenario.tail);
    return this.now;
  }

  // -------------------------------------------------------------------------------------------
  // What the account must say

  private trialEnd(): number | null {
    const ends = [
      this.registeredTrialEnd,
      ...this.subs.filter((s) => s.status === 'trialing').map((s) => s.trialEnd),
    ].filter((x): x is number => x !== null);
    return ends.length === 0 ? null : Math.max(...ends);
  }

  /** The status the objects imply at `at`, from the model's own truth (SPEC §3 rule 3). */
  expected(at: number): Expected {
    const trialEnd = this.trialEnd();
    const inTrial = trialEnd !== null && at < trialEnd;
    const m = this.manual;
    const trialStatus = m?.status === 'free' || m?.status === 'early_payment';
    if (m !== null && !(trialStatus && !inTrial)) {
      return { status: m.status, scheduled_cancel_at: null, grace_until: null };
    }
    type S = 'live' | 'canceling' | 'dunning' | 'stopped' | 'ended';
    const standings: { s: S; cancelAt: number | null; graceUntil: number | null }[] = [];
    const grace = this.scenario.graceMs;
    for (const sub of this.subs) {
      const st = (s: S, cancelAt: number | null = null, graceUntil: number | null = null) =>
        standings.push({ s, cancelAt, graceUntil });
      if (sub.status === 'canceled') st('ended');
      else if (sub.status === 'active' || sub.status === 'trialing') {
        if (sub.cancelAt !== null) st('canceling', sub.cancelAt);
        else st('live');
      } else if (sub.status === 'paused' && sub.pausedReason === 'pause_requested') st('stopped');
      else if (dunning(sub)) {
        const graceless = sub.pausedReason === 'trial_end_without_payment_method';
        const until =
          grace === null || graceless || sub.spellStart === null
            ? null
            : sub.spellStart + grace / 1000;
        st('dunning', null, until !== null && until > at ? until : null);
      }
    }
    const code = this.membership?.code;
    if (code === '1' || code === '3')
      standings.push({ s: 'live', cancelAt: null, graceUntil: null });
    if (code === '2') standings.push({ s: 'stopped', cancelAt: null, graceUntil: null });
    if (code === '4') standings.push({ s: 'ended', cancelAt: null, graceUntil: null });
    const has = (s: S) => standings.filter((x) => x.s === s);
    const plain = (status: Status): Expected => ({
      status,
      scheduled_cancel_at: null,
      grace_until: null,
    });
    if (has('live').length) return plain(inTrial ? 'early_payment' : 'active');
    if (has('canceling').length) {
      const latest = Math.max(...has('canceling').map((x) => x.cancelAt as number));
      return { status: 'canceling', scheduled_cancel_at: iso(latest), grace_until: null };
    }
    if (has('dunning').length) {
      const ends = has('dunning')
        .map((x) => x.graceUntil)
        .filter((x): x is number => x !== null);
      return {
        status: 'past_due',
        scheduled_cancel_at: null,
        grace_until: ends.length === 0 ? null : iso(Math.max(...ends)),
      };
    }
    if (has('stopped').length) return plain('stopped');
    if (has('ended').length) return plain('canceled');
    return plain(inTrial ? 'free' : 'past_due');
  }
}
