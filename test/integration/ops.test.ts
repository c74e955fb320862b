// The operator side (SPEC §4, §7) over real PostgreSQL: events are stored and applied exactly as
// the account workflow does it (pure transition → the real applyTransition activity), then the
// daily check, integrity check, rebuild and replay are asserted against what was written.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '../../src/db/pool';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { createActivities, type Activities } from '../../activities';
import { createLogger } from '../../src/log';
import { transition } from '../../src/domain/transition';
import type { AccountState, EventData } from '../../src/domain/types';
import { getAccount, listAllAccounts } from '../../src/db/queries/billing-accounts';
import {
  insertEvent,
  toBillingEvent,
  type NewEvent,
  type StoredEvent,
} from '../../src/db/queries/billing-events';
import { insertRejection } from '../../src/db/queries/webhook-rejections';
import { runDailyCheck, type DailyCheckResult } from '../../src/ops/daily-check';
import {
  dedupeCheck,
  integrityCheck,
  rebuildProjection,
  replayTimeline,
} from '../../src/ops/integrity';
import { connectTemporal, temporalProbe } from '../../src/temporal/client';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
} from '@temporalio/worker';
import { createRunDailyCheckActivity } from '../../activities/run-daily-check';
import { ensureDailyCheckSchedule } from '../../src/temporal/schedules';
import { DAILY_CHECK_SCHEDULE_ID, accountWorkflowId } from '../../src/temporal/ids';
import { WORKFLOWS_PATH } from '../../src/temporal/worker';
import { waitFor } from '../helpers/wait';

const DAY = 86_400_000;
const T0 = Date.parse('2025-04-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const REPO = path.resolve(__dirname, '..', '..');

let db: TestDatabase;
let activities: Activities;
/** What each account workflow holds in memory: the state it decides from. */
const workflowState = new Map<string, AccountState | null>();

async function store(
  e: Partial<NewEvent> & Pick<NewEvent, 'dedupe_key' | 'account_id' | 'data'>,
): Promise<StoredEvent> {
  const row: NewEvent = {
    source: 'stripe',
    event_type: e.data.kind,
    occurred_at: at(0),
    object_key: null,
    payload: { id: e.dedupe_key },
    ...e,
  };
  return (await insertEvent(db.pool, row)).event;
}

/** What billingAccountWorkflow does for one event: decide (pure), then the real applyTransition. */
async function apply(stored: StoredEvent) {
  const event = toBillingEvent(stored);
  const before = workflowState.get(event.account_id) ?? null;
  const decision = transition(before, event);
  const result = await activities.applyTransition({
    event,
    decision,
    from_status: before?.status ?? null,
  });
  workflowState.set(event.account_id, decision.state);
  return result;
}

const storeAndApply = async (e: Parameters<typeof store>[0]) => {
  const stored = await store(e);
  await apply(stored);
  return stored;
};

const stripeLinks = { customer_id: 'cus_a', subscription_id: 'sub_a', plan: 'pro', amount: 980 };

async function seedStripeAccount(): Promise<void> {
  const registered: EventData = {
    kind: 'account.registered',
    trial_end: at(14 * DAY),
    email: 'a@example.jp',
    stripe_customer_id: null,
    myasp_user_id: null,
  };
  await storeAndApply({
    source: 'api',
    dedupe_key: 'api:account.registered:acct_a',
    account_id: 'acct_a',
    data: registered,
  });
  const sub = { account_id: 'acct_a', object_key: 'stripe:sub_a' };
  await storeAndApply({
    ...sub,
    dedupe_key: 'evt_1',
    event_type: 'checkout.session.completed',
    occurred_at: at(DAY),
    data: {
      kind: 'stripe.subscription_started',
      stripe_type: 'checkout.session.completed',
      subscription_status: 'trialing',
      ...stripeLinks,
    },
  });
  await storeAndApply({
    ...sub,
    dedupe_key: 'evt_2',
    event_type: 'customer.subscription.updated',
    occurred_at: at(2 * DAY),
    data: {
      kind: 'stripe.subscription_updated',
      subscription_status: 'trialing',
      cancel_at: at(30 * DAY),
      ...stripeLinks,
    },
  });
  await storeAndApply({
    ...sub,
    dedupe_key: 'evt_old',
    event_type: 'customer.subscription.updated',
    occurred_at: at(1.5 * DAY),
    data: {
      kind: 'stripe.subscription_updated',
      subscription_status: 'trialing',
      cancel_at: null,
      ...stripeLinks,
    },
  });
  await storeAndApply({
    account_id: 'acct_a',
    dedupe_key: 'evt_3',
    event_type: 'customer.updated',
    occurred_at: at(2.5 * DAY),
    data: { kind: 'unhandled' },
  });
  await storeAndApply({
    ...sub,
    dedupe_key: 'evt_4',
    event_type: 'invoice.payment_failed',
    occurred_at: at(3 * DAY),
    data: { kind: 'stripe.payment_failed', past_due_grace_ms: null, ...stripeLinks },
  });
  await storeAndApply({
    ...sub,
    dedupe_key: 'evt_5',
    event_type: 'invoice.paid',
    occurred_at: at(4 * DAY),
    data: { kind: 'stripe.payment_succeeded', ...stripeLinks },
  });
}

async function seedOtherAccounts(overdueCancelAt: string): Promise<void> {
  const myasp = (code: '1' | '2'): EventData => ({
    kind: 'myasp.status_changed',
    myasp_user_id: '42',
    provider_status: code,
    email: 'taro@example.jp',
    plan: 'basic',
    amount: 1980,
  });
  const m = {
    source: 'myasp' as const,
    account_id: 'myasp:42',
    object_key: 'myasp:42',
    event_type: 'myasp.status',
  };
  await storeAndApply({ ...m, dedupe_key: 'myasp:42:1', occurred_at: at(0), data: myasp('1') });
  await storeAndApply({ ...m, dedupe_key: 'myasp:42:2', occurred_at: at(DAY), data: myasp('2') });
  const registered: EventData = {
    kind: 'account.registered',
    trial_end: null,
    email: null,
    stripe_customer_id: null,
    myasp_user_id: null,
  };
  await storeAndApply({
    source: 'api',
    dedupe_key: 'api:account.registered:acct_c',
    account_id: 'acct_c',
    data: registered,
  });
  const correction: EventData = {
    kind: 'manual.correction',
    status: 'canceling',
    reason: 'customer asked by phone',
    actor: 'ops:hanako',
    scheduled_cancel_at: overdueCancelAt,
  };
  await storeAndApply({
    source: 'manual',
    dedupe_key: 'manual:acct_c:1',
    account_id: 'acct_c',
    event_type: 'manual.correction',
    occurred_at: at(DAY),
    data: correction,
  });
}

const item = (r: DailyCheckResult, name: string) => {
  const found = r.items.find((i) => i.name === name);
  if (!found) throw new Error(`no item ${name}`);
  return found;
};

beforeAll(async () => {
  db = await createTestDatabase();
  activities = createActivities({ pool: db.pool, logger: createLogger('silent') });
  await seedStripeAccount();
  await seedOtherAccounts(new Date(Date.now() - 2 * 3_600_000).toISOString());
  await store({
    account_id: 'acct_a',
    dedupe_key: 'evt_pending',
    event_type: 'invoice.upcoming',
    occurred_at: at(5 * DAY),
    data: { kind: 'unhandled' },
  });
  await insertRejection(db.pool, {
    source: 'stripe',
    http_status: 400,
    reason: 'bad_signature',
    message: 'Signature did not match.',
    content_type: 'application/json',
    body_bytes: 10,
    body_sha256: null,
    remote_addr: null,
  });
});

afterAll(async () => {
  await db.drop();
});

describe('daily check', () => {
  it('when run now, then each checklist item reports what the database holds', async () => {
    const result = await runDailyCheck(db.pool, { trigger: 'cli' });
    expect(item(result, 'events_today')).toMatchObject({
      status: 'ok',
      value: { total: 12, by_source: { stripe: 7, api: 2, myasp: 2, manual: 1 } },
    });
    expect(item(result, 'last_sync').status).toBe('ok');
    expect(item(result, 'status_distribution')).toMatchObject({
      // 1 of 3 stopped is above the checklist's 10 %.
      status: 'warn',
      value: {
        total: 3,
        // acct_a: paid again after past_due while a cancel is scheduled, so it is canceling.
        by_status: { stopped: 1, canceling: 2 },
      },
    });
    expect(item(result, 'duplicate_dedupe_keys')).toMatchObject({
      status: 'ok',
      value: { total: 0 },
    });
    expect(item(result, 'last_event_mismatch')).toMatchObject({
      status: 'ok',
      value: { count: 0 },
    });
    expect(item(result, 'webhook_rejections_24h')).toMatchObject({
      status: 'warn',
      value: { total: 1, by_reason: { bad_signature: 1 } },
    });
    expect(item(result, 'delivery_backlog')).toMatchObject({ status: 'ok', value: { count: 0 } });
    expect(item(result, 'overdue_cancels')).toMatchObject({
      status: 'warn',
      // acct_a's cancel passed with no workflow timer here (its events were applied directly).
      value: { count: 2, accounts: [{ account_id: 'acct_a' }, { account_id: 'acct_c' }] },
    });
    expect(result).toMatchObject({ ok: true, status: 'warn', trigger: 'cli' });
  });

  it('when an event has waited more than 5 minutes, then the delivery backlog fails the check', async () => {
    const result = await runDailyCheck(db.pool, {
      trigger: 'api',
      now: new Date(Date.now() + 10 * 60_000),
    });
    expect(item(result, 'delivery_backlog')).toMatchObject({
      status: 'fail',
      value: { count: 1, sample: [{ event_type: 'invoice.upcoming' }] },
    });
    expect(result).toMatchObject({ ok: false, status: 'fail' });
  });

  it('when no provider webhook arrived for two days, then last sync warns and old rejections no longer count', async () => {
    const result = await runDailyCheck(db.pool, {
      trigger: 'cli',
      now: new Date(Date.now() + 2 * DAY),
    });
    expect(item(result, 'last_sync').status).toBe('warn');
    expect(item(result, 'webhook_rejections_24h').status).toBe('ok');
  });

  it('when it runs, then its result is kept in daily_check_runs', async () => {
    const result = await runDailyCheck(db.pool, { trigger: 'schedule' });
    const { rows } = await db.pool.query<{
      trigger: string;
      ok: boolean;
      result: DailyCheckResult;
    }>(`SELECT trigger, ok, result FROM daily_check_runs ORDER BY id DESC LIMIT 1`);
    expect(rows[0]).toEqual({
      trigger: 'schedule',
      ok: result.ok,
      result: JSON.parse(JSON.stringify(result)),
    });
  });

  it('when Temporal is reachable or not, then the temporal item says so', async () => {
    const up = connectTemporal({
      address: process.env.TEST_TEMPORAL_ADDRESS ?? '',
      namespace: 'default',
      taskQueue: 'ops-test',
    });
    const down = connectTemporal({
      address: '127.0.0.1:1',
      namespace: 'default',
      taskQueue: 'ops-test',
    });
    try {
      expect(
        item(
          await runDailyCheck(db.pool, { trigger: 'cli', temporal: temporalProbe(up) }),
          'temporal',
        ).status,
      ).toBe('ok');
      expect(
        item(
          await runDailyCheck(db.pool, { trigger: 'cli', temporal: temporalProbe(down) }),
          'temporal',
        ).status,
      ).toBe('fail');
    } finally {
      await Promise.allSettled([up.connection.close(), down.connection.close()]);
    }
  });
});

describe('integrity check and rebuild', () => {
  it('when the workflows wrote everything, then every invariant holds and dedupe finds nothing', async () => {
    const result = await integrityCheck(db.pool);
    expect(result.items.filter((i) => i.status !== 'ok')).toEqual([]);
    expect(result.ok).toBe(true);
    expect(await dedupeCheck(db.pool)).toEqual({ ok: true, duplicates: 0, keys: [] });
  });

  it('when folded from billing_events, then the rebuild reproduces billing_accounts exactly', async () => {
    const progress: [number, number][] = [];
    const result = await rebuildProjection(db.pool, {
      apply: false,
      pageSize: 4,
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(result).toMatchObject({
      ok: true,
      events: 11,
      accounts: 3,
      matching: 3,
      differing: [],
      missing: [],
      extra: [],
      outcome_mismatches: [],
    });
    expect(progress[progress.length - 1]).toEqual([11, 11]);
    const rows = await listAllAccounts(db.pool);
    expect(rows.map((r) => r.account_id)).toEqual(['acct_a', 'acct_c', 'myasp:42']);
    expect(rows.find((r) => r.account_id === 'acct_a')).toMatchObject({
      status: 'canceling',
      scheduled_cancel_at: at(30 * DAY),
      amount: 980,
      object_versions: { 'stripe:sub_a': at(2 * DAY), 'stripe:sub_a#invoice': at(4 * DAY) },
    });
  });

  it('when a row was written before per-object status (no objects), then --apply brings it to the derived rule exactly', async () => {
    const before = await listAllAccounts(db.pool);
    await db.pool.query(
      `UPDATE billing_accounts SET objects = NULL, as_of = NULL, status_object = NULL, status_reason = NULL
        WHERE account_id = 'acct_a'`,
    );
    const dry = await rebuildProjection(db.pool, { apply: false });
    expect(dry.differing.map((d) => d.column).sort()).toEqual(
      ['as_of', 'objects', 'status_object', 'status_reason'].sort(),
    );
    const fixed = await rebuildProjection(db.pool, { apply: true });
    expect(fixed).toMatchObject({ ok: true, written: ['acct_a'] });
    expect(await listAllAccounts(db.pool)).toEqual(before);
  });

  it('when a row is edited by hand or deleted, then the rebuild names each column and --apply restores it', async () => {
    const before = await listAllAccounts(db.pool);
    await db.pool.query(
      `UPDATE billing_accounts SET status = 'active', amount = 1, object_versions = '{}' WHERE account_id = 'acct_a'`,
    );
    await db.pool.query(`DELETE FROM billing_accounts WHERE account_id = 'myasp:42'`);
    const dry = await rebuildProjection(db.pool, { apply: false });
    expect(dry.differing.map((d) => [d.column, d.projection, d.rebuilt])).toEqual([
      ['status', 'active', 'canceling'],
      ['amount', 1, 980],
      ['object_versions', {}, { 'stripe:sub_a': at(2 * DAY), 'stripe:sub_a#invoice': at(4 * DAY) }],
    ]);
    expect(dry).toMatchObject({ ok: false, matching: 1, missing: ['myasp:42'], written: [] });
    expect((await integrityCheck(db.pool)).ok).toBe(false);
    const fixed = await rebuildProjection(db.pool, { apply: true });
    expect(fixed).toMatchObject({ ok: true, written: ['acct_a', 'myasp:42'], skipped: [] });
    expect(await listAllAccounts(db.pool)).toEqual(before);
    expect((await rebuildProjection(db.pool, { apply: false })).ok).toBe(true);
    expect((await integrityCheck(db.pool)).ok).toBe(true);
  });

  it('when a row points at another account’s event, then integrity fails and rebuild reports it as extra without deleting it', async () => {
    const { rows } = await db.pool.query<{ id: string }>(
      `SELECT id::text AS id FROM billing_events WHERE dedupe_key = 'evt_5'`,
    );
    await db.pool.query(
      `INSERT INTO billing_accounts (account_id, provider, status, last_event_id) VALUES ('ghost', 'none', 'active', $1::bigint)`,
      [rows[0]?.id],
    );
    try {
      const integrity = await integrityCheck(db.pool);
      expect(integrity.items.find((i) => i.name === 'projection_last_event')).toMatchObject({
        status: 'fail',
        value: { rows: [{ account_id: 'ghost', problem: 'other_account' }] },
      });
      const rebuilt = await rebuildProjection(db.pool, { apply: true });
      expect(rebuilt).toMatchObject({ ok: false, extra: ['ghost'], written: [] });
      expect(await getAccount(db.pool, 'ghost')).not.toBeNull();
    } finally {
      await db.pool.query(`DELETE FROM billing_accounts WHERE account_id = 'ghost'`);
    }
  });
});

describe('replay', () => {
  it('when an account is replayed, then its events come in processed order with outcome, action and status change, pending last', async () => {
    const t = await replayTimeline(db.pool, 'acct_a');
    expect(
      t.entries.map((e) => [e.dedupe_key, e.outcome, e.action, e.from_status, e.to_status]),
    ).toEqual([
      ['api:account.registered:acct_a', 'applied', 'billing.account_registered', null, 'free'],
      ['evt_1', 'applied', 'billing.checkout_completed', 'free', 'early_payment'],
      ['evt_2', 'applied', 'billing.subscription_updated', 'early_payment', 'canceling'],
      ['evt_old', 'stale', 'billing.event_stale', 'canceling', 'canceling'],
      ['evt_3', 'ignored', 'billing.event_ignored', 'canceling', 'canceling'],
      ['evt_4', 'applied', 'billing.payment_failed', 'canceling', 'past_due'],
      ['evt_5', 'applied', 'billing.invoice_paid', 'past_due', 'canceling'],
      ['evt_pending', null, null, null, null],
    ]);
    expect(t.entries[7]).toMatchObject({ pending: true, position: 8 });
    expect(t).toMatchObject({ pending: 1, current: { status: 'canceling' } });
    expect(t.entries[3]?.reason).toBe('older_than_newest_evidence');
  });
});

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real launcher (`npx billing-ops`), with connection settings only from `env`. */
function cli(args: string[], env: Record<string, string>, cwd = REPO): Promise<CliRun> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|TEMPORAL_|DATA_DIR)/.test(k)),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO, 'bin', 'billing-ops.js'), ...args],
      { cwd, env: { ...base, DATA_DIR: '/nonexistent-billing-ops', ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('billing-ops CLI', () => {
  it('when DATABASE_URL is set, then daily-check --json prints the result and exits 0 on warnings', async () => {
    const r = await cli(['daily-check', '--json'], { DATABASE_URL: db.databaseUrl });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, status: 'warn', trigger: 'cli' });
  });

  it('when nothing says where the database is, then one sentence and exit 2', async () => {
    const r = await cli(['integrity-check'], {});
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^No database to connect to: set DATABASE_URL/),
    ]);
  });

  it('when .data/runtime.json from npm start is there, then the CLI connects with it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-ops-'));
    try {
      fs.mkdirSync(path.join(dir, '.data'));
      fs.writeFileSync(
        path.join(dir, '.data', 'runtime.json'),
        JSON.stringify({ databaseUrl: db.databaseUrl, namespace: 'default', taskQueue: 'billing' }),
      );
      const r = await cli(['dedupe-check'], { DATA_DIR: '.data' }, dir);
      expect(r).toMatchObject({ code: 0, stdout: 'duplicate dedupe_keys: 0\n' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the projection is corrupted, then integrity-check exits 1 and rebuild-projection --apply repairs it with progress on stderr', async () => {
    await db.pool.query(
      `UPDATE billing_accounts SET plan = 'hacked', status = 'active' WHERE account_id = 'acct_a'`,
    );
    const env = { DATABASE_URL: db.databaseUrl };
    expect(await cli(['integrity-check'], env)).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/FAIL\s+projection_last_event/),
    });
    const dry = await cli(['rebuild-projection'], env);
    expect(dry).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/acct_a\s+plan\s+"hacked"\s+"pro"/),
    });
    const fixed = await cli(['rebuild-projection', '--apply'], env);
    expect(fixed).toMatchObject({
      code: 0,
      stderr: expect.stringContaining('rebuild-projection: 11/11 events (100%)'),
    });
    expect(await getAccount(db.pool, 'acct_a')).toMatchObject({
      plan: 'pro',
      status: 'canceling',
    });
    expect((await cli(['integrity-check'], env)).code).toBe(0);
  });

  it('when a timeline or overrides are asked for, then replay and gate-override list answer', async () => {
    const replay = await cli(['replay', 'acct_a'], { DATABASE_URL: db.databaseUrl });
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/evt_pending|PENDING/);
    const list = await cli(['gate-override', 'list', '--json'], { DATABASE_URL: db.databaseUrl });
    expect(JSON.parse(list.stdout)).toEqual({ overrides: [] });
  });

  it('when an option is wrong, then the error is one sentence and nothing is written', async () => {
    const r = await cli(['gate-override', 'set', '--reason', 'outage', '--ttl', 'soon'], {
      DATABASE_URL: db.databaseUrl,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('--ttl "soon" is not a duration; use e.g. 30m, 2h or 1d.');
  });
});

function quietWorkerLogs(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed in this process: keep its logger.
  }
}

const silentBundler = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  trace() {},
  log() {},
} as never;

/** Runs `body` while a worker with `workflowsPath` and `acts` polls a fresh task queue. */
async function withWorker(
  workflowsPath: string,
  acts: object,
  body: (taskQueue: string, client: Client) => Promise<void>,
) {
  const address = process.env.TEST_TEMPORAL_ADDRESS ?? '';
  quietWorkerLogs();
  const taskQueue = `ops-test-${Math.random().toString(36).slice(2, 10)}`;
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: silentBundler });
  const native = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  try {
    const worker = await Worker.create({
      connection: native,
      namespace: 'default',
      taskQueue,
      workflowBundle: bundle,
      activities: acts,
    });
    await worker.runUntil(body(taskQueue, client));
  } finally {
    await connection.close();
    await native.close();
  }
}

describe('with Temporal', () => {
  it('when the schedule is ensured twice, then it exists once and a triggered run keeps a schedule-trigger result', async () => {
    const acts = {
      runDailyCheck: createRunDailyCheckActivity({ pool: db.pool, logger: createLogger('silent') }),
    };
    await withWorker(
      require.resolve('../../workflows/daily-check'),
      acts,
      async (taskQueue, client) => {
        const handle = client.schedule.getHandle(DAILY_CHECK_SCHEDULE_ID);
        await handle.delete().catch(() => undefined); // left by another run of the suite
        try {
          expect(await ensureDailyCheckSchedule(client, { taskQueue, cronHourUtc: 0 })).toBe(true);
          expect(await ensureDailyCheckSchedule(client, { taskQueue })).toBe(false);
          const described = await handle.describe();
          expect(described.action).toMatchObject({ workflowType: 'dailyCheckWorkflow', taskQueue });
          expect(described.spec.calendars?.[0]).toMatchObject({
            hour: [{ start: 0, end: 0, step: 1 }],
          });
          const count = async () =>
            (
              await db.pool.query(
                `SELECT count(*)::int AS n FROM daily_check_runs WHERE trigger = 'schedule'`,
              )
            ).rows[0].n as number;
          const before = await count();
          await handle.trigger();
          await waitFor(async () => (await count()) > before, {
            timeoutMs: 30_000,
            what: 'a scheduled daily check',
          });
        } finally {
          await handle.delete().catch(() => undefined);
        }
      },
    );
  });

  it('when an operator corrects and overrides through the CLI, then the account workflow applies it and the rebuild still matches', async () => {
    const account = `ops-cli-${Math.random().toString(36).slice(2, 10)}`;
    const registered: EventData = {
      kind: 'account.registered',
      trial_end: '2099-01-01T00:00:00.000Z',
      email: null,
      stripe_customer_id: null,
      myasp_user_id: null,
    };
    await storeAndApply({
      source: 'api',
      dedupe_key: `api:account.registered:${account}`,
      account_id: account,
      data: registered,
    });
    const acts = createActivities({ pool: db.pool, logger: createLogger('silent') });
    await withWorker(WORKFLOWS_PATH, acts, async (taskQueue, client) => {
      const env = {
        DATABASE_URL: db.databaseUrl,
        TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS ?? '',
        TEMPORAL_TASK_QUEUE: taskQueue,
      };
      try {
        const corrected = await cli(
          [
            'correct',
            account,
            'past_due',
            '--reason',
            'chargeback reported by the bank',
            '--actor',
            'ops:test',
          ],
          env,
        );
        expect(corrected).toMatchObject({
          code: 0,
          stdout: expect.stringContaining(`${account} is now past_due`),
        });
        const set = await cli(
          [
            'gate-override',
            'set',
            '--account',
            account,
            '--reason',
            'bank outage',
            '--ttl',
            '2h',
            '--json',
          ],
          env,
        );
        const id = (JSON.parse(set.stdout) as { override: { id: string }; expiry_timer: string })
          .override.id;
        expect(JSON.parse(set.stdout)).toMatchObject({
          expiry_timer: 'started',
          override: { account_id: account, actions: ['confirm'] },
        });
        expect(
          (await cli(['gate-override', 'clear', id, '--reason', 'bank is back'], env)).code,
        ).toBe(0);
        const listed = await cli(['gate-override', 'list', '--all'], env);
        expect(listed.stdout).toMatch(new RegExp(`${id}\\s+cleared\\s+${account}`));
      } finally {
        await client.workflow
          .getHandle(accountWorkflowId(account))
          .terminate('test finished')
          .catch(() => undefined);
      }
    });
    expect(
      (await replayTimeline(db.pool, account)).entries.map((e) => [e.source, e.to_status, e.actor]),
    ).toEqual([
      ['api', 'free', 'api'],
      ['manual', 'past_due', 'ops:test'],
    ]);
    expect(await rebuildProjection(db.pool, { apply: false })).toMatchObject({
      ok: true,
      accounts: 4,
      differing: [],
      outcome_mismatches: [],
    });
    expect((await integrityCheck(db.pool)).ok).toBe(true);
  });
});

// Last: these write outcomes by hand, which the checks above would rightly flag.
describe('the database enforces the invariants itself', () => {
  const refused = /append-only/;

  it('when billing_events is updated, deleted or truncated, then PostgreSQL refuses', async () => {
    await expect(
      db.pool.query(`UPDATE billing_events SET event_type = 'x' WHERE dedupe_key = 'evt_1'`),
    ).rejects.toThrow(refused);
    await expect(
      db.pool.query(`DELETE FROM billing_events WHERE dedupe_key = 'evt_1'`),
    ).rejects.toThrow(refused);
    await expect(db.pool.query('TRUNCATE billing_events CASCADE')).rejects.toThrow(refused);
  });

  it('when audit_logs is updated, deleted or truncated, then PostgreSQL refuses', async () => {
    await expect(db.pool.query(`UPDATE audit_logs SET actor = 'x'`)).rejects.toThrow(refused);
    await expect(db.pool.query('DELETE FROM audit_logs')).rejects.toThrow(refused);
    await expect(db.pool.query('TRUNCATE audit_logs')).rejects.toThrow(refused);
  });

  it('when an outcome is written, then it is accepted once and never changed or written with other columns', async () => {
    const e = await store({
      account_id: 'acct_z',
      dedupe_key: 'evt_once',
      data: { kind: 'unhandled' },
    });
    const write = (outcome: string, extra = '') =>
      db.pool.query(
        `UPDATE billing_events SET outcome = $2::text, processed_at = now(), processed_seq = nextval('billing_events_processed_seq')${extra} WHERE id = $1::bigint`,
        [e.id, outcome],
      );
    await expect(write('ignored', `, payload = '{}'`)).rejects.toThrow(refused);
    await expect(write('ignored')).resolves.toMatchObject({ rowCount: 1 });
    await expect(write('applied')).rejects.toThrow(refused);
  });

  it('when a dedupe_key is stored twice, then the UNIQUE constraint refuses the second row', async () => {
    const insert = () =>
      db.pool.query(
        `INSERT INTO billing_events (source, dedupe_key, event_type, account_id, occurred_at, payload, data)
         VALUES ('stripe', 'evt_1', 'x', 'acct_a', now(), '{}', '{}')`,
      );
    await expect(insert()).rejects.toMatchObject({ code: '23505' });
    const again = await insertEvent(db.pool, {
      source: 'stripe',
      dedupe_key: 'evt_1',
      event_type: 'x',
      account_id: 'acct_a',
      occurred_at: at(0),
      object_key: null,
      payload: {},
      data: { kind: 'unhandled' },
    });
    expect(again.duplicate).toBe(true);
    expect((await dedupeCheck(db.pool)).duplicates).toBe(0);
  });
});
