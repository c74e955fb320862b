// A bounded burst of signed Stripe webhooks over loopback, sent the way Stripe sends them (each
// event retried until it is answered 200), and the ledger checks that follow a fault: every
// acknowledged event has exactly one outcome and one audit row, each account's events were
// processed in the order they were acknowledged, and billing_accounts equals a rebuild from
// billing_events. Black-box: HTTP in, database out, whatever the delivery pipeline is.
import type pg from 'pg';

import { rebuildProjection } from '../../src/ops/integrity';
import * as fx from '../fixtures/stripe';
import { postStripe } from './http';
import { faultAccountId, nowS } from './ids';

/** `RELIABILITY_LONG=1` runs the long variants; CI runs the short ones. */
export const LONG = process.env.RELIABILITY_LONG === '1';

export interface Stream {
  /** Each lane is one account's events, sent one after the other; lanes run in parallel. */
  lanes: fx.StripeEventJson[][];
  hotAccountId: string;
  total: number;
}

/**
 * A renewal burst: `accounts` accounts each with subscription created → payment failed → paid,
 * and one hot account whose subscription changes `hotEvents` times (cancel scheduled, withdrawn,
 * …), each event a second newer than the one before.
 */
export function renewalBurst(opts: { label: string; accounts: number; hotEvents: number }): Stream {
  const base = nowS() - 3600;
  const hot = {
    accountId: faultAccountId(`${opts.label}_hot`),
    customerId: fx.stripeId('cus'),
    subscriptionId: fx.stripeId('sub'),
  };
  const hotLane = [fx.subscriptionCreated({ ...hot, created: base })];
  for (let i = 1; i < opts.hotEvents; i++)
    hotLane.push(
      fx.subscriptionUpdated({ ...hot, created: base + i, cancelAtPeriodEnd: i % 2 === 1 }),
    );
  const lanes = [hotLane];
  for (let a = 0; a < opts.accounts; a++) {
    const parts = {
      accountId: faultAccountId(opts.label),
      customerId: fx.stripeId('cus'),
      subscriptionId: fx.stripeId('sub'),
    };
    lanes.push([
      fx.subscriptionCreated({ ...parts, created: base }),
      fx.invoicePaymentFailed({ ...parts, created: base + 10 }),
      fx.invoicePaid({ ...parts, created: base + 20 }),
    ]);
  }
  return { lanes, hotAccountId: hot.accountId, total: lanes.reduce((n, l) => n + l.length, 0) };
}

export interface Ack {
  stripeId: string;
  eventId: string;
  lane: number;
  index: number;
  /** POSTs it took (Stripe retries until it gets a 2xx). */
  posts: number;
}

export interface Sender {
  acks: Ack[];
  /** Answers other than 200 and 503 + Retry-After: none are expected under these faults. */
  unexpected: { stripeId: string; status: number; body: unknown }[];
  /** Answers seen, by HTTP status (0: no answer, the process or connection went away). */
  statuses: Record<number, number>;
  /** 503 answers that came without Retry-After. */
  unavailableWithoutRetryAfter: number;
  /** POSTs waiting for an answer right now. */
  open: number;
  done: Promise<void>;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends the stream with `concurrency` lanes at a time to `target()` (read before each POST, so a
 * test can move the service). Each event is posted until it is answered 200, like Stripe does,
 * within `deadlineMs`.
 */
export function sendStream(
  target: () => string,
  stream: Stream,
  opts: { concurrency: number; deadlineMs?: number; retryPauseMs?: number },
): Sender {
  const sender: Sender = {
    acks: [],
    unexpected: [],
    statuses: {},
    unavailableWithoutRetryAfter: 0,
    open: 0,
    done: Promise.resolve(),
  };
  const deadline = Date.now() + (opts.deadlineMs ?? 240_000);
  let next = 0;
  const postUntilAcknowledged = async (event: fx.StripeEventJson, lane: number, index: number) => {
    for (let posts = 1; ; posts++) {
      if (Date.now() > deadline)
        throw new Error(`Event ${event.id} was not acknowledged within the deadline.`);
      let status = 0;
      sender.open += 1;
      try {
        const answer = await postStripe(target(), event).finally(() => (sender.open -= 1));
        status = answer.status;
        if (status === 200) {
          sender.acks.push({
            stripeId: event.id,
            eventId: String(answer.body.event_id),
            lane,
            index,
            posts,
          });
          sender.statuses[200] = (sender.statuses[200] ?? 0) + 1;
          return;
        }
        if (status === 503 && !answer.headers.get('retry-after'))
          sender.unavailableWithoutRetryAfter += 1;
        if (status !== 503)
          sender.unexpected.push({ stripeId: event.id, status, body: answer.body });
      } catch {
        // No answer at all: the process died or is restarting. Stripe would retry; so do we.
      }
      sender.statuses[status] = (sender.statuses[status] ?? 0) + 1;
      await pause(opts.retryPauseMs ?? 150);
    }
  };
  const runLanes = async () => {
    for (;;) {
      const lane = next++;
      const events = stream.lanes[lane];
      if (!events) return;
      for (let i = 0; i < events.length; i++)
        await postUntilAcknowledged(events[i] as fx.StripeEventJson, lane, i);
    }
  };
  sender.done = Promise.all(Array.from({ length: opts.concurrency }, runLanes)).then(
    () => undefined,
  );
  return sender;
}

export interface LedgerCounts {
  sent: number;
  acknowledged: number;
  /** Acknowledged events with no stored row, a different row than the answer named, or no outcome. */
  lost: number;
  /** Events stored more than once, or with more than one audit row. */
  applied_twice: number;
  /** Pairs of one account's events processed in the opposite order of their acknowledgement. */
  out_of_order: number;
  /** Outcomes other than applied/ignored (stale or duplicate would mean an order or dedupe slip). */
  unexpected_outcomes: number;
  /** billing_accounts columns that differ from a rebuild from billing_events (+ missing/extra rows). */
  rebuild_differences: number;
  outcomes: Record<string, number>;
}

interface EventLedgerRow {
  stripe_id: string;
  ids: string[];
  outcome: string | null;
  processed_seq: string | null;
  audit_rows: number;
}

async function ledgerRows(
  pool: pg.Pool,
  stripeIds: string[],
): Promise<Map<string, EventLedgerRow>> {
  const r = await pool.query<EventLedgerRow>(
    `SELECT e.payload->>'id' AS stripe_id, array_agg(e.id::text ORDER BY e.id) AS ids,
            min(e.outcome) AS outcome, min(e.processed_seq)::text AS processed_seq,
            (SELECT count(*)::int FROM audit_logs l
              WHERE l.event_id = ANY(array_agg(e.id))) AS audit_rows
       FROM billing_events e
      WHERE e.source = 'stripe' AND e.payload->>'id' = ANY($1::text[])
      GROUP BY e.payload->>'id'`,
    [stripeIds],
  );
  return new Map(r.rows.map((row) => [row.stripe_id, row]));
}

/**
 * Waits (up to `timeoutMs`) until every acknowledged event has an outcome, then counts what was
 * lost, applied twice or reordered, and compares billing_accounts with a rebuild.
 */
export async function checkLedger(
  pool: pg.Pool,
  stream: Pick<Stream, 'total'>,
  sender: Pick<Sender, 'acks'>,
  opts: { timeoutMs?: number } = {},
): Promise<LedgerCounts> {
  const stripeIds = sender.acks.map((a) => a.stripeId);
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let rows = await ledgerRows(pool, stripeIds);
  while (
    Date.now() < deadline &&
    [...rows.values()].some((r) => r.outcome === null || rows.size < stripeIds.length)
  ) {
    await pause(250);
    rows = await ledgerRows(pool, stripeIds);
  }
  const counts: LedgerCounts = {
    sent: stream.total,
    acknowledged: sender.acks.length,
    lost: 0,
    applied_twice: 0,
    out_of_order: 0,
    unexpected_outcomes: 0,
    rebuild_differences: 0,
    outcomes: {},
  };
  for (const ack of sender.acks) {
    const row = rows.get(ack.stripeId);
    if (!row || row.outcome === null || row.ids[0] !== ack.eventId) counts.lost += 1;
    if (row && (row.ids.length > 1 || row.audit_rows > 1)) counts.applied_twice += 1;
    const outcome = row?.outcome ?? 'none';
    counts.outcomes[outcome] = (counts.outcomes[outcome] ?? 0) + 1;
    if (outcome !== 'applied' && outcome !== 'ignored') counts.unexpected_outcomes += 1;
  }
  const byLane = new Map<number, Ack[]>();
  for (const ack of sender.acks) byLane.set(ack.lane, [...(byLane.get(ack.lane) ?? []), ack]);
  for (const acks of byLane.values()) {
    const seqs = acks
      .sort((a, b) => a.index - b.index)
      .map((a) => Number(rows.get(a.stripeId)?.processed_seq ?? NaN));
    for (let i = 1; i < seqs.length; i++)
      if (!((seqs[i] as number) > (seqs[i - 1] as number))) counts.out_of_order += 1;
  }
  const rebuild = await rebuildProjection(pool, { apply: false });
  counts.rebuild_differences =
    rebuild.differing.length +
    rebuild.missing.length +
    rebuild.extra.length +
    rebuild.outcome_mismatches.length;
  return counts;
}

/** The zero line every fault test asserts. */
export const NOTHING_LOST = {
  lost: 0,
  applied_twice: 0,
  out_of_order: 0,
  unexpected_outcomes: 0,
  rebuild_differences: 0,
};

/** One line for RELIABILITY.md, printed when RELIABILITY_REPORT=1. */
export function reportFigures(name: string, figures: Record<string, unknown>): void {
  if (process.env.RELIABILITY_REPORT !== '1') return;
  process.stdout.write(`[reliability] ${name} ${JSON.stringify(figures)}\n`);
}
