// Property: `what-if --at T` answers from the log what the audit trail says was in force at T.
// Random histories of one account from the domain's property-test generator (test/helpers/
// stripe-histories.ts: Stripe's lifecycle and MyASP posts, delivered reordered and twice) are
// stored and applied in random batches by the real applyPendingEvents activity — the writer of
// the audit trail — and then asked about at every instant an audit row appeared, and between
// them, with and without proposed settings.
import '../../src/db/pool';

import fc from 'fast-check';

import { type Activities, createActivities } from '../../activities';
import { insertEvent } from '../../src/db/queries/billing-events';
import { parsePolicySettings } from '../../src/domain/policy';
import type { BillingEvent } from '../../src/domain/types';
import { createLogger } from '../../src/log';
import { whatIfTimeline } from '../../src/ops/what-if-timeline';
import { AccountSim } from '../helpers/account-sim';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { describeRun, EventBook, histories, plan, REPLAY } from '../helpers/stripe-histories';

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

/** Where the deliveries are cut into wake-ups: each batch applied in a transaction of its own. */
const batchSizes = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 40, maxLength: 40 });
/** With today's settings only, or a proposal that moves deadlines (the proposed side passes them). */
const proposals = fc.constantFrom<string[]>([], ['PAST_DUE_GRACE=3d'], ['DEFAULT_TRIAL_DAYS=30']);

async function store(event: BillingEvent): Promise<void> {
  await insertEvent(db.pool, {
    source: event.source,
    dedupe_key: event.dedupe_key,
    event_type: event.event_type,
    account_id: event.account_id,
    occurred_at: event.occurred_at,
    object_key: event.object_key,
    payload: { id: event.dedupe_key },
    data: event.data,
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
  it('when asked at any instant of any history, then today’s status from the log equals the audit row in force then', async () => {
    await fc.assert(
      fc.asyncProperty(
        histories,
        batchSizes,
        proposals,
        async ([{ world }, d], sizes, proposed) => {
          run += 1;
          const account = `acct_at_${run}`;
          const sim = new AccountSim({
            accountId: account,
            pastDueGraceMs: world.scenario.graceMs,
          });
          const book = new EventBook(d);
          const deliveries = plan(world, d, 'shuffled').map((p) => book.event(sim, p));
          // Stored and applied in batches, as wake-ups of the account's workflow do.
          for (let i = 0, b = 0; i < deliveries.length; b += 1) {
            const size = sizes[b % sizes.length] ?? 1;
            for (const event of deliveries.slice(i, i + size)) await store(event);
            await activities.applyPendingEvents({ account_id: account });
            i += size;
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
          const { settings } = parsePolicySettings(proposed);
          for (const t of times) {
            const timeline = await whatIfTimeline(db.pool, account, {
              settings,
              proposed,
              gatedNow: ['confirm'],
              at: t,
            });
            const want = await auditAt(account, t);
            if ((timeline.now?.status ?? null) !== want) {
              throw new Error(
                `at ${t}: what-if says ${timeline.now?.status ?? null}, the audit trail ${want}\n` +
                  timeline.rows
                    .map((r) => `${r.occurred_at} ${r.event} ${r.now?.status}`)
                    .join('\n') +
                  `\n${describeRun(world, [])}`,
              );
            }
          }
        },
      ),
      { numRuns: RUNS, ...REPLAY },
    );
  });
});
