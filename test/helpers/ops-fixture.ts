// The operator tests' shared world (SPEC §4, §7) over real PostgreSQL: events are stored and
// applied exactly as the account workflow does it (the real applyPendingEvents activity). Each test/integration/ops-*.test.ts file seeds its own fresh database with the same
// accounts (createOpsFixture), then asserts what one tool reports about them.
import '../../src/db/pool';

import { execFile } from 'node:child_process';
import path from 'node:path';

import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

import { type Activities, createActivities } from '../../activities';
import { insertEvent, type NewEvent, type StoredEvent } from '../../src/db/queries/billing-events';
import { insertRejection } from '../../src/db/queries/webhook-rejections';
import type { EventData } from '../../src/domain/types';
import { createLogger } from '../../src/log';
import type { DailyCheckResult } from '../../src/ops/daily-check';
import { createTestDatabase, type TestDatabase } from './db';
import { bundleQuietly } from './workflow-bundle';

export const DAY = 86_400_000;
const T0 = Date.parse('2025-04-01T00:00:00.000Z');
export const at = (ms: number) => new Date(T0 + ms).toISOString();
const REPO = path.resolve(__dirname, '..', '..');

export type EventToStore = Partial<NewEvent> & Pick<NewEvent, 'dedupe_key' | 'account_id' | 'data'>;

export interface OpsFixture {
  db: TestDatabase;
  activities: Activities;
  /** Stores an event (stripe, at T0, no object, unless overridden) without applying it. */
  store(e: EventToStore): Promise<StoredEvent>;
  /** Stores an event and applies it as billingAccountWorkflow would. */
  storeAndApply(e: EventToStore): Promise<StoredEvent>;
}

/**
 * A fresh database holding three accounts (acct_a on Stripe, myasp:42 on MyASP, acct_c corrected
 * to canceling with a cancel two hours ago), one stored-but-pending event of acct_a, and one
 * refused Stripe webhook.
 */
export async function createOpsFixture(): Promise<OpsFixture> {
  const db = await createTestDatabase();
  const activities = createActivities({ pool: db.pool, logger: createLogger('silent') });

  async function store(e: EventToStore): Promise<StoredEvent> {
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

  /** What a wake-up of billingAccountWorkflow does: apply the account's pending events. */
  const storeAndApply = async (e: EventToStore) => {
    const stored = await store(e);
    await activities.applyPendingEvents({ account_id: stored.account_id });
    return stored;
  };

  const fixture: OpsFixture = { db, activities, store, storeAndApply };
  await seedStripeAccount(fixture);
  await seedOtherAccounts(fixture, new Date(Date.now() - 2 * 3_600_000).toISOString());
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
  return fixture;
}

const stripeLinks = { customer_id: 'cus_a', subscription_id: 'sub_a', plan: 'pro', amount: 980 };

async function seedStripeAccount({ storeAndApply }: OpsFixture): Promise<void> {
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

async function seedOtherAccounts(
  { storeAndApply }: OpsFixture,
  overdueCancelAt: string,
): Promise<void> {
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

/** The daily check's item called `name`. */
export const item = (r: DailyCheckResult, name: string) => {
  const found = r.items.find((i) => i.name === name);
  if (!found) throw new Error(`no item ${name}`);
  return found;
};

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real launcher (`npx billing-ops`), with connection settings only from `env`. */
export function cli(args: string[], env: Record<string, string>, cwd = REPO): Promise<CliRun> {
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

/** Runs `body` while a worker with `workflowsPath` and `acts` polls a fresh task queue. */
export async function withWorker(
  workflowsPath: string,
  acts: object,
  body: (taskQueue: string, client: Client) => Promise<void>,
) {
  const address = process.env.TEST_TEMPORAL_ADDRESS ?? '';
  const taskQueue = `ops-test-${Math.random().toString(36).slice(2, 10)}`;
  const bundle = await bundleQuietly(workflowsPath);
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

/**
 * The test file's seeded database: created before its tests (handed to `take`), dropped after
 * them.
 */
export function useOpsFixture(take: (fixture: OpsFixture) => void): void {
  let fixture: OpsFixture | undefined;
  beforeAll(async () => {
    fixture = await createOpsFixture();
    take(fixture);
  });
  afterAll(async () => {
    await fixture?.db.drop();
  });
}
