// Reconciliation end to end (SPEC §3 rule 2): webhooks were lost, Stripe holds the truth. The
// service runs with its real worker on the suite's PostgreSQL and Temporal; `npm run ops --
// reconcile` asks a stateful Stripe stand-in through stripe-node, and every difference is stored
// as a `reconcile` event, applied by the account workflow and audited as billing.reconciled.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import iconv from 'iconv-lite';

import { runDailyCheck } from '../../src/ops/daily-check';
import { mockEvent, mockInvoice, mockSubscription } from '../fixtures/stripe-mock';
import { auditRows, japanTime, myaspForm, outcomeOf, statusBecomes } from '../helpers/accounts';
import { type Run, runTsx } from '../helpers/cli';
import { postMyasp, postStripe } from '../helpers/http';
import { startService, type TestService } from '../helpers/service';
import { StripeStandin } from '../helpers/stripe-standin';

const DAY = 86_400;
const API_KEY = 'sk_test_reconcile_0123456789';
const NOW = Math.floor(Date.now() / 1000);

let svc: TestService;
let stripe: StripeStandin;
let stripeUrl: string;

beforeAll(async () => {
  svc = await startService();
  stripe = new StripeStandin(API_KEY);
  stripeUrl = await stripe.start();
});

afterAll(async () => {
  await stripe?.stop();
  await svc?.stop();
});

function reconcile(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runTsx('src/cli/index.ts', args, {
    DATABASE_URL: svc.db.databaseUrl,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS ?? '',
    TEMPORAL_NAMESPACE: svc.config.temporalNamespace,
    TEMPORAL_TASK_QUEUE: svc.config.taskQueue,
    STRIPE_API_KEY: API_KEY,
    STRIPE_API_URL: stripeUrl,
    ...env,
  });
}

const subscription = (
  accountId: string,
  subscriptionId: string,
  status: string,
  extra: { cancelAtPeriodEnd?: boolean; metadata?: boolean } = {},
) => {
  const sub = mockSubscription(
    {
      subscriptionId,
      customerId: `cus_${accountId}`,
      status,
      created: NOW - 60 * DAY,
      periodEnd: NOW + 20 * DAY,
      cancelAtPeriodEnd: extra.cancelAtPeriodEnd,
      accountId: extra.metadata === false ? undefined : accountId,
    },
    'basil',
  );
  return sub;
};

async function webhook(type: string, object: Record<string, unknown>, created: number) {
  const r = await postStripe(svc.baseUrl, mockEvent(type, object, created, 'basil'));
  expect(r.status).toBe(200);
  return outcomeOf(svc, r.body.event_id);
}

async function reconcileEvents(accountId: string) {
  const r = await svc.db.pool.query<{
    id: string;
    outcome: string;
    data: { differences: string[] };
  }>(
    `SELECT id, outcome, data FROM billing_events WHERE account_id = $1::text AND source = 'reconcile' ORDER BY id`,
    [accountId],
  );
  return r.rows;
}

describe('reconcile with Stripe', () => {
  it('when customer.subscription.deleted was lost, then one command cancels the account, audits what differed, and a second run records nothing', async () => {
    const account = 'acct_rec_deleted';
    await webhook(
      'customer.subscription.created',
      subscription(account, 'sub_rec_del', 'active'),
      NOW - 30 * DAY,
    );
    await statusBecomes(svc, account, 'active');
    stripe.put(subscription(account, 'sub_rec_del', 'canceled'));

    const first = await reconcile(['reconcile', '--account', account]);
    expect(first.stderr).toContain('reconcile: 1/1 accounts');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('1 corrected');
    await statusBecomes(svc, account, 'canceled');
    const events = await reconcileEvents(account);
    expect(events).toHaveLength(1);
    expect(events[0]?.outcome).toBe('applied');
    expect(events[0]?.data.differences).toEqual(expect.arrayContaining(['status']));
    const audit = await auditRows(svc, account, 'billing.reconciled');
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'billing.reconciled',
        from_status: 'active',
        to_status: 'canceled',
        details: expect.objectContaining({
          source: 'reconcile',
          differences: events[0]?.data.differences,
        }),
      }),
    );
    expect(stripe.requests.every((r) => r.authorized && r.method === 'GET')).toBe(true);

    const again = await reconcile(['reconcile', '--account', account, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ accounts_corrected: 0, events_recorded: 0 });
    expect(await reconcileEvents(account)).toHaveLength(1);

    // A webhook from before the fetch, delivered late, is older than what Stripe told us: stale.
    const late = await webhook(
      'customer.subscription.updated',
      subscription(account, 'sub_rec_del', 'active', { cancelAtPeriodEnd: true }),
      NOW - 10 * DAY,
    );
    expect(late).toBe('stale');
    await statusBecomes(svc, account, 'canceled');
  });

  it('when the renewal invoice.paid was lost after a failed payment and Stripe rate-limits, then reconcile --all backs off and makes the account active', async () => {
    const account = 'acct_rec_renewal';
    const sub = subscription(account, 'sub_rec_ren', 'active');
    await webhook('customer.subscription.created', sub, NOW - 30 * DAY);
    const failed = mockInvoice(
      {
        subscriptionId: 'sub_rec_ren',
        customerId: `cus_${account}`,
        created: NOW - DAY,
        paid: false,
        accountId: account,
      },
      'basil',
    );
    await webhook('invoice.payment_failed', failed, NOW - DAY);
    await statusBecomes(svc, account, 'past_due');
    stripe.put(sub);
    stripe.rateLimitNext = 2;

    const run = await reconcile(['reconcile', '--all']);
    expect(run.stderr).toContain('429');
    expect(run.code).toBe(0);
    await statusBecomes(svc, account, 'active');
    const events = await reconcileEvents(account);
    expect(events.map((e) => e.data.differences)).toEqual([['standing']]);
  });

  it('when Stripe holds a second subscription the webhooks never told of, then it is recorded and the account is active again', async () => {
    const account = 'acct_rec_unknown';
    const old = subscription(account, 'sub_rec_old', 'active');
    await webhook('customer.subscription.created', old, NOW - 40 * DAY);
    await webhook(
      'customer.subscription.deleted',
      subscription(account, 'sub_rec_old', 'canceled'),
      NOW - 20 * DAY,
    );
    await statusBecomes(svc, account, 'canceled');
    stripe.put(subscription(account, 'sub_rec_old', 'canceled'));
    stripe.put(subscription(account, 'sub_rec_new', 'active', { metadata: false }));

    const run = await reconcile(['reconcile', '--account', account]);
    expect(run.code).toBe(0);
    const active = await statusBecomes(svc, account, 'active');
    expect(active.stripe_subscription_id).toBe('sub_rec_new');
    expect((await reconcileEvents(account)).map((e) => e.data.differences)).toEqual([
      ['unknown_subscription'],
    ]);
  });

  it('when every scenario has run, then rebuild-projection reproduces billing_accounts exactly', async () => {
    const run = await reconcile(['rebuild-projection', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: true,
      differing: [],
      missing: [],
      outcome_mismatches: [],
    });
  });

  it('when reconciliation has run, then the daily check says when and how many accounts it corrected, and /metrics counts the corrections', async () => {
    const check = await runDailyCheck(svc.db.pool, { trigger: 'cli' });
    const item = check.items.find((i) => i.name === 'reconciliation');
    expect(item).toMatchObject({ status: 'ok', value: { stripe: { accounts_corrected: 1 } } });
    expect(item?.message).toMatch(
      /^Stripe reconciliation last ran at \S+ \(.+\): 1 of \d+ account\(s\) corrected\.$/,
    );
    const metrics = await (await fetch(`${svc.baseUrl}/metrics`)).text();
    expect(metrics).toContain('billing_reconcile_corrections_total{provider="stripe"} 3');
  });

  it('when STRIPE_API_KEY is not set, then reconcile says so in one sentence and writes nothing', async () => {
    const run = await reconcile(['reconcile', '--all'], { STRIPE_API_KEY: '' });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^STRIPE_API_KEY is not set; .+\.$/);
    const runs = await svc.db.pool.query('SELECT 1 FROM reconciliation_runs WHERE errors > 0');
    expect(runs.rowCount).toBe(0);
  });
});

describe('reconcile-myasp with an exported member list', () => {
  const writeExport = (name: string, text: string, encoding: 'utf8' | 'shift_jis') => {
    const file = path.join(os.tmpdir(), `${name}-${process.pid}.csv`);
    fs.writeFileSync(file, encoding === 'utf8' ? `\uFEFF${text}` : iconv.encode(text, 'Shift_JIS'));
    return file;
  };

  it('when a Shift_JIS export with Japanese column names says a member cancelled, then the dry run only prints it and the real run cancels the account', async () => {
    const user = 'u_rec_sjis';
    const r = await postMyasp(
      svc.baseUrl,
      myaspForm({
        user_id: user,
        status: 1,
        ts: japanTime(new Date(Date.now() - 10 * DAY * 1000)),
      }),
    );
    expect(r.status).toBe(200);
    await statusBecomes(svc, `myasp:${user}`, 'active');
    const csv = writeExport(
      'members-sjis',
      `会員ID,メール,ステータス,更新日時\r\n${user},"山田, 太郎 <t@example.jp>",4,${japanTime(new Date(Date.now() - DAY * 1000))}\r\nu_rec_agrees_absent,,２,\r\n`,
      'shift_jis',
    );
    const columns = [
      '--user-column',
      '会員ID',
      '--status-column',
      'ステータス',
      '--date-column',
      '更新日時',
    ];

    const dry = await reconcile(['reconcile-myasp', '--csv', csv, ...columns, '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Dry run: 2 of 2 member(s) differ; nothing was written.');
    expect(dry.stdout).toContain(`myasp:${user}`);
    expect(await reconcileEvents(`myasp:${user}`)).toHaveLength(0);

    const real = await reconcile(['reconcile-myasp', '--csv', csv, ...columns]);
    expect(real.code).toBe(0);
    await statusBecomes(svc, `myasp:${user}`, 'canceled');
    await statusBecomes(svc, 'myasp:u_rec_agrees_absent', 'stopped');
    const audit = await auditRows(svc, `myasp:${user}`, 'billing.reconciled');
    expect(audit).toEqual([
      expect.objectContaining({
        from_status: 'active',
        to_status: 'canceled',
        details: expect.objectContaining({ provider: 'myasp', differences: ['status'] }),
      }),
    ]);
  });

  it('when a UTF-8 export names a column the file does not have, then it says which columns exist and writes nothing', async () => {
    const csv = writeExport('members-utf8', 'user,state\r\nu1,1\r\n', 'utf8');
    const run = await reconcile(['reconcile-myasp', '--csv', csv]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'The header has no column "user_id" or "status" (it has "user", "state")',
    );
  });
});
