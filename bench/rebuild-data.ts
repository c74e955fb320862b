// Processed events for the rebuild benchmark, generated inside PostgreSQL (INSERT … SELECT over
// generate_series) from real payloads: each kind of event is a Stripe fixture payload run through
// the service's own normalizer once, with the ids as placeholders that SQL fills per account.
// Every account follows the same monthly history (registered, subscribed, then invoices paid,
// failed, paid again and subscription updates), so the stored outcome of each step is computed
// once by folding the same pure transition the rebuild uses: a rebuild must find nothing to fix.
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
      data: t.data,
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
    await pool.query(
      `INSERT INTO billing_events (source, dedupe_key, event_type, account_id, occurred_at,
                                   received_at, object_key, payload, data, outcome, processed_at, processed_seq)
       SELECT $1::text, replace(replace($2::text, 'ACCTX', acct), 'SEQX', $10::text), $3::text,
              'bench_' || acct, ts, ts, replace($4::text, 'ACCTX', acct),
              replace(replace($5::text, 'ACCTX', acct), 'SEQX', $10::text)::jsonb,
              replace($6::text, 'ACCTX', acct)::jsonb, $7::text, ts,
              ($10::bigint - 1) * $8::bigint + a
         FROM generate_series(1, $8::int) AS a,
              LATERAL (SELECT lpad(a::text, 7, '0') AS acct,
                              $9::timestamptz + a * interval '1 second' AS ts) AS x
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
      ],
    );
  }
  await pool.query(`SELECT setval('billing_events_processed_seq', $1::bigint)`, [
    opts.accounts * opts.steps,
  ]);
  await pool.query('ANALYZE billing_events');
  return opts.accounts * opts.steps;
}
