// Property: `what-if --at T` answers from the log what the audit trail says was in force at T.
// Random histories of one account (a registration, a subscription's snapshots and invoices, MyASP
// posts, in any order and any batches) are applied by the real applyPendingEvents activity — the
// writer of the audit trail — and then asked about at every instant an audit row appeared, and
// between them, with and without proposed settings.
import '../../src/db/pool';

import fc from 'fast-check';

import { type Activities, createActivities } from '../../activities';
import { insertEvent } from '../../src/db/queries/billing-events';
import { parsePolicySettings } from '../../src/domain/policy';
import type { EventData } from '../../src/domain/types';
import { createLogger } from '../../src/log';
import { whatIfTimeline } from '../../src/ops/what-if-timeline';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

const DAY = 86_400_000;
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const RUNS = Number(process.env.PROPERTY_RUNS_DB ?? 25);

let db: TestDatabase;
let activities: Activities;
let run = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  activities = createActivities({ pool: db.pool, logger: createLogger('silent') });
});

afterAll(async () => {
  await db.drop();
});

const links = { customer_id: 'cus_p', subscription_id: 'sub_p', plan: 'pro', amount: 980 };
const at = (day: number) => new Date(T0 + day * DAY).toISOString();

/** One recorded event: its data, its object and its day. */
const stripeEvent: fc.Arbitrary<[EventData, number]> = fc.tuple(
  fc.oneof(
    fc.constantFrom<EventData>(
      { kind: 'stripe.payment_failed', past_due_grace_ms: null, ...links },
      { kind: 'stripe.payment_failed', past_due_grace_ms: 2 * DAY, ...links },
      { kind: 'stripe.payment_succeeded', ...links },
      { kind: 'stripe.subscription_deleted', ...links },
      {
        kind: 'stripe.subscription_started',
        stripe_type: 'customer.subscription.created',
        subscription_status: 'active',
        ...links,
      },
    ),
    fc
      .record({
        status: fc.constantFrom('active', 'trialing', 'past_due', 'unpaid', 'canceled'),
        cancelDay: fc.option(fc.integer({ min: 0, max: 60 })),
      })
      .map(({ status, cancelDay }): EventData => ({
        kind: 'stripe.subscription_updated',
        subscription_status: status,
        cancel_at: cancelDay === null ? null : at(cancelDay),
        ...links,
      })),
  ),
  fc.integer({ min: 0, max: 40 }),
);

const myaspEvent: fc.Arbitrary<[EventData, number]> = fc.tuple(
  fc.constantFrom('1', '2', '3', '4').map((code): EventData => ({
    kind: 'myasp.status_changed',
    myasp_user_id: 'p',
    provider_status: code,
    email: null,
    plan: null,
    amount: null,
  })),
  fc.integer({ min: 0, max: 40 }),
);

const historyArb = fc.record({
  trialDays: fc.option(fc.integer({ min: 0, max: 30 })),
  events: fc.array(
    fc.oneof({ weight: 4, arbitrary: stripeEvent }, { weight: 1, arbitrary: myaspEvent }),
    {
      minLength: 1,
      maxLength: 10,
    },
  ),
  batches: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 12, maxLength: 12 }),
  proposed: fc.constantFrom<string[]>([], ['PAST_DUE_GRACE=3d'], ['DEFAULT_TRIAL_DAYS=30']),
});

async function store(account: string, key: string, data: EventData, occurred: string) {
  const object =
    data.kind === 'myasp.status_changed'
      ? 'myasp:p'
      : data.kind.startsWith('stripe')
        ? 'stripe:sub_p'
        : null;
  await insertEvent(db.pool, {
    source: data.kind.startsWith('stripe')
      ? 'stripe'
      : data.kind.startsWith('myasp')
        ? 'myasp'
        : 'api',
    dedupe_key: key,
    event_type: data.kind,
    account_id: account,
    occurred_at: occurred,
    object_key: object,
    payload: { id: key },
    data,
  });
}

/** The audit trail's answer at `t`: the to_status of the newest audit row written by then. */
async function auditAt(account: string, t: string): Promise<string | null> {
  const r = await db.pool.query<{ to_status: string | null }>(
    `SELECT to_status FROM audit_logs WHERE account_id = $1::text AND created_at <= $2::timestamptz
      ORDER BY id DESC LIMIT 1`,
    [account, t],
  );
  return r.rows[0]?.to_status ?? null;
}

describe('what-if --at (property)', () => {
  it('when asked at any instant, then today’s status from the log equals the audit row in force then', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, async (h) => {
        run += 1;
        const account = `acct_at_${run}`;
        const keys: string[] = [];
        if (h.trialDays !== null) {
          const key = `api:account.registered:${account}`;
          await store(
            account,
            key,
            {
              kind: 'account.registered',
              trial_end: h.trialDays > 0 ? at(h.trialDays) : null,
              email: null,
              stripe_customer_id: null,
              myasp_user_id: null,
            },
            at(0),
          );
          keys.push(key);
        }
        // Stored in batches, each applied in a transaction of its own, as wake-ups do.
        let i = 0;
        for (const size of h.batches) {
          for (const [data, day] of h.events.slice(i, i + size)) {
            await store(account, `evt_${account}_${i}`, data, at(day));
            i += 1;
          }
          await activities.applyPendingEvents({ account_id: account });
          if (i >= h.events.length) break;
        }
        const audits = await db.pool.query<{ created_at: string }>(
          `SELECT DISTINCT created_at FROM audit_logs WHERE account_id = $1::text ORDER BY 1`,
          [account],
        );
        const instants = audits.rows.map((r) => Date.parse(r.created_at));
        const times = [
          (instants[0] ?? Date.now()) - 1000,
          ...instants,
          ...instants.slice(1).map((t, k) => Math.floor((t + (instants[k] ?? t)) / 2)),
          (instants.at(-1) ?? Date.now()) + 1000,
        ].map((t) => new Date(t).toISOString());
        const { settings } = parsePolicySettings(h.proposed);
        for (const t of times) {
          const timeline = await whatIfTimeline(db.pool, account, {
            settings,
            proposed: h.proposed,
            gatedNow: ['confirm'],
            at: t,
          });
          const want = await auditAt(account, t);
          if ((timeline.now?.status ?? null) !== want) {
            throw new Error(
              `at ${t}: what-if says ${timeline.now?.status ?? null}, the audit trail ${want}\n` +
                timeline.rows.map((r) => `${r.occurred_at} ${r.event} ${r.now?.status}`).join('\n'),
            );
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
