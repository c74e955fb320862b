// what-if (SPEC §7) over real PostgreSQL: accounts whose events were applied by the real
// applyPendingEvents activity, then the proposed settings replayed over them — counts, examples,
// the event that makes the difference, one account's timeline, and the CLI's answers.
import '../../src/db/pool';

import { Client, Connection } from '@temporalio/client';

import { type Activities, createActivities } from '../../activities';
import { withTransaction } from '../../src/db/pool';
import { insertEvent } from '../../src/db/queries/billing-events';
import { parsePolicySettings } from '../../src/domain/policy';
import type { EventData } from '../../src/domain/types';
import { createLogger } from '../../src/log';
import { whatIf, type WhatIfResult } from '../../src/ops/what-if';
import { whatIfTimeline } from '../../src/ops/what-if-timeline';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { cli } from '../helpers/ops-fixture';

const DAY = 86_400_000;
const NOW = Date.now();
const ago = (days: number) => new Date(NOW - days * DAY).toISOString();
const links = (sub: string) => ({
  customer_id: `cus_${sub}`,
  subscription_id: sub,
  plan: 'pro',
  amount: 980,
});

let db: TestDatabase;
let activities: Activities;
/** An instant after the first four accounts were applied and before the others. */
let midway: string;
const pause = () => new Promise((r) => setTimeout(r, 20));

async function apply(
  account: string,
  key: string,
  occurred: string,
  data: EventData,
  extra: {
    object_key?: string | null;
    payload?: Record<string, unknown>;
    event_type?: string;
  } = {},
): Promise<void> {
  await insertEvent(db.pool, {
    source: data.kind.startsWith('stripe')
      ? 'stripe'
      : data.kind.startsWith('myasp')
        ? 'myasp'
        : 'api',
    dedupe_key: key,
    event_type: extra.event_type ?? data.kind,
    account_id: account,
    occurred_at: occurred,
    object_key:
      extra.object_key === undefined
        ? data.kind.startsWith('stripe')
          ? `stripe:${account}`
          : null
        : extra.object_key,
    payload: extra.payload ?? { id: key },
    data,
  });
  await activities.applyPendingEvents({ account_id: account });
}

const started = (sub: string): EventData => ({
  kind: 'stripe.subscription_started',
  stripe_type: 'customer.subscription.created',
  subscription_status: 'active',
  ...links(sub),
});
const failed = (sub: string): EventData => ({
  kind: 'stripe.payment_failed',
  past_due_grace_ms: null,
  ...links(sub),
});
const registered = (trial_end: string | null): EventData => ({
  kind: 'account.registered',
  trial_end,
  email: null,
  stripe_customer_id: null,
  myasp_user_id: null,
});

/** Paying for a month, then a failed payment `days` ago (no grace in force when it was stored). */
async function failedDaysAgo(account: string, days: number): Promise<void> {
  await apply(account, `evt_${account}_created`, ago(30), started(account));
  await apply(account, `evt_${account}_failed`, ago(days), failed(account));
}

beforeAll(async () => {
  db = await createTestDatabase();
  activities = createActivities({ pool: db.pool, logger: createLogger('silent') });
  await failedDaysAgo('acct_failed_2d', 2);
  await failedDaysAgo('acct_failed_5d', 5);
  // Dunning from a snapshot alone: Stripe said past_due a day ago, no failure event seen.
  await apply('acct_snapshot_1d', 'evt_snapshot_created', ago(30), started('acct_snapshot_1d'));
  await apply('acct_snapshot_1d', 'evt_snapshot_past_due', ago(1), {
    kind: 'stripe.subscription_updated',
    subscription_status: 'past_due',
    cancel_at: null,
    ...links('acct_snapshot_1d'),
  });
  await apply('acct_active', 'evt_active_created', ago(10), started('acct_active'));
  await pause();
  midway = new Date().toISOString();
  await pause();
  await apply('acct_trial', 'api:account.registered:acct_trial', ago(1), registered(ago(-13)), {
    payload: { account_id: 'acct_trial', trial_days: 14 },
  });
  // Registered 10 days ago with the default trial of 7 days (the host app gave no trial).
  await apply('acct_default', 'api:account.registered:acct_default', ago(10), registered(ago(3)), {
    payload: { account_id: 'acct_default' },
  });
  await apply('acct_gone', 'evt_gone_created', ago(40), started('acct_gone'));
  await apply('acct_gone', 'evt_gone_deleted', ago(8), {
    kind: 'stripe.subscription_deleted',
    ...links('acct_gone'),
  });
  await apply(
    'myasp:7',
    'myasp:7:2',
    ago(4),
    {
      kind: 'myasp.status_changed',
      myasp_user_id: '7',
      provider_status: '2',
      email: null,
      plan: null,
      amount: null,
    },
    { object_key: 'myasp:7' },
  );
});

afterAll(async () => {
  await db.drop();
});

function proposed(...pairs: string[]) {
  const { settings, errors } = parsePolicySettings(pairs);
  expect(errors).toEqual([]);
  return { settings, proposed: pairs, gatedNow: ['confirm'], now: new Date(NOW) };
}

const changedGate = (r: WhatIfResult, action: string) =>
  r.gate.filter((g) => g.action === action && g.now !== g.would);
const accountsOf = (changes: { examples: { account_id: string }[] }[]) =>
  changes.flatMap((c) => c.examples.map((e) => e.account_id)).sort();

describe('what-if', () => {
  it('when PAST_DUE_GRACE is lengthened to 3d, then exactly the past_due accounts whose spell began inside 3 days flip to allowed', async () => {
    const r = await whatIf(db.pool, proposed('PAST_DUE_GRACE=3d'));
    expect(r.accounts).toBe(8);
    expect(r.changed.status).toBe(0);
    const flips = changedGate(r, 'confirm');
    expect(flips.map((g) => [g.now, g.would, g.accounts])).toEqual([['denied', 'allowed', 2]]);
    expect(accountsOf(flips)).toEqual(['acct_failed_2d', 'acct_snapshot_1d']);
    const [example] = flips[0]?.examples ?? [];
    expect(example).toMatchObject({
      account_id: 'acct_failed_2d',
      now: { status: 'past_due', gate: { confirm: { allowed: false, reason: 'status:past_due' } } },
      would: { status: 'past_due', gate: { confirm: { allowed: true } } },
      event: { event: 'evt_acct_failed_2d_failed', event_type: 'stripe.payment_failed' },
    });
    expect(example?.would.gate.confirm?.reason).toBe(
      `grace:${new Date(Date.parse(ago(2)) + 3 * DAY).toISOString()}`,
    );
    expect(r.summary).toMatch(
      /^what-if PAST_DUE_GRACE=3d: 0 of 8 accounts would change status; gate: confirm denied→allowed 2 /,
    );
  });

  it('when an action is added to GATED_ACTIONS, then exactly the accounts in a status that denies it flip to denied for it', async () => {
    const r = await whatIf(db.pool, { ...proposed('GATED_ACTIONS=confirm,export'), examples: 10 });
    expect(changedGate(r, 'confirm')).toEqual([]);
    const flips = changedGate(r, 'export');
    expect(flips.map((g) => [g.now, g.would])).toEqual([['allowed', 'denied']]);
    expect(accountsOf(flips)).toEqual([
      'acct_default',
      'acct_failed_2d',
      'acct_failed_5d',
      'acct_gone',
      'acct_snapshot_1d',
      'myasp:7',
    ]);
    expect(flips[0]?.examples.find((e) => e.account_id === 'acct_gone')).toMatchObject({
      now: { status: 'canceled', gate: { export: { allowed: true, reason: 'not_gated' } } },
      would: {
        status: 'canceled',
        gate: { export: { allowed: false, reason: 'status:canceled' } },
      },
      event: { event: 'evt_gone_deleted' },
    });
    expect(r.changed.gate).toEqual({ confirm: 0, export: 6 });
  });

  it('when DEFAULT_TRIAL_DAYS is lengthened, then only registrations that took the default get the longer trial', async () => {
    const r = await whatIf(db.pool, proposed('DEFAULT_TRIAL_DAYS=14'));
    const changed = r.statuses.filter((s) => s.now !== s.would);
    expect(changed.map((s) => [s.now, s.would, s.accounts])).toEqual([['past_due', 'free', 1]]);
    expect(changed[0]?.examples[0]).toMatchObject({
      account_id: 'acct_default',
      event: { event: 'api:account.registered:acct_default' },
    });
  });

  it('when nothing is proposed, then no account differs: the projection and the fold agree', async () => {
    const r = await whatIf(db.pool, proposed());
    expect(r.accounts).toBe(8);
    expect(r.changed).toEqual({ status: 0, gate: { confirm: 0 } });
  });

  it('when asked --at an earlier time, then only the accounts the log had by then are counted', async () => {
    const r = await whatIf(db.pool, { ...proposed('PAST_DUE_GRACE=3d'), at: midway });
    expect(r).toMatchObject({ at: midway, as_of_log: midway, accounts: 4 });
    expect(r.statuses.map((s) => [s.now, s.would, s.accounts])).toEqual([
      ['past_due', 'past_due', 3],
      ['active', 'active', 1],
    ]);
    expect(r.summary).toContain(` at ${midway}: `);
  });

  it('when folded on two threads, then the answer is the one the single fold gives', async () => {
    const p = proposed('PAST_DUE_GRACE=3d', 'GATED_ACTIONS=confirm,export');
    const one = await whatIf(db.pool, p);
    const two = await whatIf(db.pool, {
      ...p,
      parallel: { databaseUrl: db.databaseUrl, threads: 2 },
    });
    expect(two).toEqual(one);
  });

  it('when asked for one account, then its timeline shows each event, its object and both statuses, and where they differ', async () => {
    const t = await whatIfTimeline(db.pool, 'acct_default', proposed('DEFAULT_TRIAL_DAYS=14'));
    expect(
      t.rows.map((r) => [
        r.event,
        r.object,
        r.now?.status ?? null,
        r.would?.status ?? null,
        r.differs,
      ]),
    ).toEqual([
      ['api:account.registered:acct_default', 'registration', 'free', 'free', false],
      [
        expect.stringMatching(/^timer:acct_default:trial_end:/),
        'deadline:trial_end',
        'past_due',
        null,
        true,
      ],
    ]);
    expect(t.now?.status).toBe('past_due');
    expect(t.would?.status).toBe('free');
    expect(t.summary).toBe(
      'what-if DEFAULT_TRIAL_DAYS=14 for acct_default: past_due now, would be free; 1 of 2 steps differ.',
    );
  });
});

describe('what-if from the CLI', () => {
  const env = () => ({ DATABASE_URL: db.databaseUrl });

  it('when run, then it prints the tables and ends with the one-line summary, exit code 0', async () => {
    const r = await cli(['what-if', '--set', 'PAST_DUE_GRACE=3d', '--threads', '2'], env());
    expect(r.stderr).toContain('what-if: ');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('acct_failed_2d');
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(
      /^what-if PAST_DUE_GRACE=3d: 0 of 8 accounts would change status; gate: confirm denied→allowed 2 \(\d+ events folded\)\.$/,
    );
  });

  it('when given --json, then it prints one JSON document', async () => {
    const r = await cli(['what-if', '--set', 'GATED_ACTIONS=confirm,export', '--json'], env());
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as WhatIfResult;
    expect(json.changed.gate).toEqual({ confirm: 0, export: 6 });
  });

  it('when --set names unknown keys or bad values, then each gets one clear line and exit code 2', async () => {
    const r = await cli(
      [
        'what-if',
        '--set',
        'PAST_DUE_GRACE=soon',
        '--set',
        'GRACE=3d',
        '--set',
        'GATED_ACTIONS=vote',
        '--set',
        'DEFAULT_TRIAL_DAYS',
      ],
      { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      'PAST_DUE_GRACE="soon" is not a duration; write it like 3d, 72h or P3D, or none for no grace.',
      '--set GRACE is not a setting the fold or the gate reads; use one of PAST_DUE_GRACE, DEFAULT_TRIAL_DAYS, GATED_ACTIONS.',
      'GATED_ACTIONS="vote" lists vote, which the gate never stops (SPEC §2); remove it.',
      '--set "DEFAULT_TRIAL_DAYS" has no value; write it as KEY=VALUE, e.g. PAST_DUE_GRACE=3d.',
    ]);
  });

  it('when asked for one account, then it prints its timeline with the differing steps marked', async () => {
    const r = await cli(
      ['what-if', '--set', 'DEFAULT_TRIAL_DAYS=14', '--account', 'acct_default'],
      env(),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/registration\s+free\s+free/);
    expect(r.stdout).toMatch(/deadline:trial_end\s+past_due\s+-\s+≠/);
  });
});

describe('what-if writes nothing', () => {
  /** Rows of every table, and where every sequence stands. */
  async function databaseContents(): Promise<Record<string, string>> {
    const tables = await db.pool.query<{ name: string }>(
      `SELECT quote_ident(table_name) AS name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
    );
    const out: Record<string, string> = {};
    for (const { name } of tables.rows) {
      const r = await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`);
      out[name] = r.rows[0]?.n ?? '';
    }
    const seqs = await db.pool.query<{ name: string; last: string | null }>(
      `SELECT sequencename AS name, last_value::text AS last FROM pg_sequences WHERE schemaname = 'public'`,
    );
    for (const s of seqs.rows) out[`sequence ${s.name}`] = s.last ?? 'unused';
    return out;
  }

  /** Every workflow on the dev server with its history length. */
  async function workflows(client: Client): Promise<string[]> {
    const found: string[] = [];
    for await (const w of client.workflow.list())
      found.push(`${w.workflowId} ${w.runId} ${w.status.name} ${w.historyLength}`);
    return found.sort();
  }

  it('when run on threads with Temporal configured, then no row, audit row, sequence or workflow changes', async () => {
    const address = process.env.TEST_TEMPORAL_ADDRESS ?? '';
    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection, namespace: 'default' });
      // A workflow nobody polls: its history stays as started unless something touches it.
      const probe = `what-if-probe-${Math.random().toString(36).slice(2, 10)}`;
      await client.workflow.start('billingAccountWorkflow', {
        workflowId: probe,
        taskQueue: `${probe}-nobody-polls`,
        args: [{ account_id: probe }],
      });
      const deadline = Date.now() + 30_000;
      let before = await workflows(client);
      while (!before.some((w) => w.startsWith(`${probe} `)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        before = await workflows(client);
      }
      expect(before.some((w) => w.startsWith(`${probe} `))).toBe(true);
      const rows = await databaseContents();
      expect(rows.audit_logs).not.toBe('0');
      const r = await cli(
        [
          'what-if',
          '--set',
          'PAST_DUE_GRACE=3d',
          '--set',
          'GATED_ACTIONS=confirm,export',
          '--threads',
          '2',
        ],
        { DATABASE_URL: db.databaseUrl, TEMPORAL_ADDRESS: address },
      );
      expect(r.code).toBe(0);
      expect(await databaseContents()).toEqual(rows);
      expect(await workflows(client)).toEqual(before);
      await client.workflow.getHandle(probe).terminate('what-if test probe');
    } finally {
      await connection.close();
    }
  });

  it("when a write is attempted in what-if's read-only transaction, then PostgreSQL refuses it", async () => {
    await expect(
      withTransaction(
        db.pool,
        (c) =>
          c.query(`UPDATE billing_accounts SET status = 'active' WHERE account_id = 'acct_gone'`),
        { readOnly: true },
      ),
    ).rejects.toMatchObject({ code: '25006' });
  });
});
