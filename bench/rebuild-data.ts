// Processed events for the rebuild benchmark, generated inside PostgreSQL (INSERT … SELECT over
// generate_series) from real payloads: each kind of event is a Stripe fixture payload run through
// the service's own normalizer once, with the ids as placeholders that SQL fills per account.
// Every account follows the same monthly history (registered, subscribed, then invoices paid,
// failed, paid again and subscription updates), so the stored outcome of each step is computed
// once by folding the same pure transition the rebuild uses: a rebuild must find nothing to fix.
// Each renewal has an invoice of its own (its id and `created` filled in per step), so the fold
// carries the per-invoice evidence a real account does.
import type pg from 'pg';

import { normalizeStripeEvent } from '../src/domain/normalize-stripe';
import { transition } from '../src/domain/transition';
import type { AccountState, BillingEvent, EventData, EventSource } from '../src/domain/types';
import {
  invoicePaid,
  invoicePaymentFailed,
  invoicePaymentSucceeded,
  type StripeEventJson,
  subscriptionCreated,
  subscriptionUpdated,
} from '../test/fixtures/stripe';

const ACCOUNT = 'ACCTX';
const SEQ = 'SEQX';
const INVOICE = 'INVX';
const BASE = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;

interface Template {
  source: EventSource;
  dedupe_key: string;
  event_type: string;
  object_key: string | null;
  payload: unknown;
  data: EventData;
}

function stripeTemplate(make: (o: Record<string, unknown>) => StripeEventJson): Template {
  const ids = {
    eventId: `evt_${ACCOUNT}_${SEQ}`,
    accountId: `bench_${ACCOUNT}`,
    customerId: `cus_${ACCOUNT}`,
    subscriptionId: `sub_${ACCOUNT}`,
    invoiceId: `in_${ACCOUNT}_${INVOICE}`,
  };
  const payload = make(ids);
  const n = normalizeStripeEvent(payload, { pastDueGraceMs: null });
  return { ...n, payload };
}

/** Step 1 registers, step 2 subscribes, then the renewal cycle repeats. */
function templates(): Template[] {
  const registered: Template = {
    source: 'api',
    dedupe_key: `api:account.registered:bench_${ACCOUNT}`,
    event_type: 'account.registered',
    object_key: null,
    payload: { account_id: `bench_${ACCOUNT}`, trial_days: 14 },
    data: {
      kind: 'account.registered',
      trial_end: new Date(BASE + 14 * DAY).toISOString(),
      email: `owner+${ACCOUNT}@example.jp`,
      stripe_customer_id: `cus_${ACCOUNT}`,
      myasp_user_id: null,
    },
  };
  return [
    registered,
    stripeTemplate((o) => subscriptionCreated(o)),
    stripeTemplate((o) => invoicePaid(o)),
    stripeTemplate((o) => invoicePaymentFailed(o)),
    stripeTemplate((o) => invoicePaymentSucceeded(o)),
    stripeTemplate((o) => subscriptionUpdated({ ...o, previousAttributes: { status: 'active' } })),
  ];
}

const CYCLE_START = 2;
const templateOf = (step: number, count: number) =>
  step <= CYCLE_START ? step - 1 : CYCLE_START + ((step - CYCLE_START - 1) % (count - CYCLE_START));
/** The template that pays the invoice the one before it failed (a successful retry). */
const RETRY_TEMPLATE = 4;

/** Step k's invoice: its own, or the failed one of the step before; and its `created`, days back. */
function invoiceOf(step: number, count: number): { number: string; daysBack: number } {
  const retry = templateOf(step, count) === RETRY_TEMPLATE;
  return { number: String(retry ? step - 1 : step), daysBack: retry ? 30 : 0 };
}

/** The template's data for step k of one account whose events happen at `at`. */
function dataAt(t: Template, step: number, count: number, at: string): EventData {
  const { number, daysBack } = invoiceOf(step, count);
  const data = JSON.parse(JSON.stringify(t.data).replaceAll(INVOICE, number)) as EventData;
  if ('invoice_created' in data) {
    data.invoice_created = new Date(Date.parse(at) - daysBack * DAY).toISOString();
  }
  return data;
}
/** Step k of every account happens (k-1) × 30 days after the start; accounts a second apart. */
const occurredAt = (step: number, account: number) =>
  new Date(BASE + (step - 1) * 30 * DAY + account * 1000).toISOString();

/** The outcome of each step, from the same fold the rebuild makes (all accounts alike). */
function outcomesOf(list: Template[], steps: number): string[] {
  let state: AccountState | null = null;
  const outcomes: string[] = [];
  for (let k = 1; k <= steps; k++) {
    const t = list[templateOf(k, list.length)] as Template;
    const event: BillingEvent = {
      event_id: String(k),
      source: t.source,
      dedupe_key: t.dedupe_key.replace(SEQ, String(k)),
      event_type: t.event_type,
      account_id: `bench_${ACCOUNT}`,
      occurred_at: occurredAt(k, 1),
      object_key: t.object_key,
      data: dataAt(t, k, list.length, occurredAt(k, 1)),
    };
    const d = transition(state, event);
    if (d.outcome === 'applied') state = d.state;
    outcomes.push(d.outcome);
  }
  return outcomes;
}

/**
 * Inserts `accounts` × `steps` processed events into an empty, migrated database, one statement
 * per step (accounts interleaved in processed order, as many workflows would write them).
 */
export async function generateProcessedEvents(
  pool: pg.Pool,
  opts: { accounts: number; steps: number },
): Promise<number> {
  const list = templates();
  const outcomes = outcomesOf(list, opts.steps);
  for (let k = 1; k <= opts.steps; k++) {
    const t = list[templateOf(k, list.length)] as Template;
    const invoice = invoiceOf(k, list.length);
    // An invoice's `created` is its account's own time (accounts are a second apart), days back.
    await pool.query(
      `INSERT INTO billing_events (source, dedupe_key, event_type, account_id, occurred_at,
                                   received_at, object_key, payload, data, outcome, processed_at, processed_seq)
       SELECT $1::text, replace(replace($2::text, 'ACCTX', acct), 'SEQX', $10::text), $3::text,
              'bench_' || acct, ts, ts, replace($4::text, 'ACCTX', acct),
              replace(replace(replace($5::text, 'ACCTX', acct), 'SEQX', $10::text), 'INVX', $11::text)::jsonb,
              CASE WHEN d ? 'invoice_created'
                   THEN jsonb_set(d, '{invoice_created}', to_jsonb(to_char(
                          (ts - $12::int * interval '1 day') AT TIME ZONE 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
                   ELSE d END,
              $7::text, ts,
              ($10::bigint - 1) * $8::bigint + a
         FROM generate_series(1, $8::int) AS a,
              LATERAL (SELECT lpad(a::text, 7, '0') AS acct,
                              $9::timestamptz + a * interval '1 second' AS ts) AS x,
              LATERAL (SELECT replace(replace($6::text, 'ACCTX', acct), 'INVX', $11::text)::jsonb AS d) AS y
        ORDER BY a`,
      [
        t.source,
        t.dedupe_key,
        t.event_type,
        t.object_key,
        JSON.stringify(t.payload),
        JSON.stringify(t.data),
        outcomes[k - 1],
        opts.accounts,
        new Date(Date.parse(occurredAt(k, 0))).toISOString(),
        k,
        invoice.number,
        invoice.daysBack,
      ],
    );
  }
  await pool.query(`SELECT setval('billing_events_processed_seq', $1::bigint)`, [
    opts.accounts * opts.steps,
  ]);
  await pool.query('ANALYZE billing_events');
  return opts.accounts * opts.steps;
}
