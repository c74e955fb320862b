// Several processes at once against one PostgreSQL and one Temporal: two API processes and two
// workers, started together on an empty database (the migrations run once), then the same event
// posted to both APIs at once, 100 copies of one event at once, 50 different events for one
// account at once, and many accounts interleaved across both APIs. Each time: every event
// stored once, with one outcome and one audit row, and billing_accounts equals a rebuild.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

import pg from 'pg';

import { MIGRATIONS_DIR } from '../../src/db/migrate';
import { guardPoolErrors } from '../../src/db/pool';
import { findFreePort } from '../../src/dev/local-stack';
import * as fx from '../fixtures/stripe';
import {
  type ServiceChild,
  startServiceProcess,
  stopHelperProcess,
} from '../helpers/child-process';
import { type Answer, postStripe } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import {
  type Ack,
  checkLedger,
  LONG,
  NOTHING_LOST,
  reportFigures,
  sendStream,
  type Stream,
} from '../helpers/load';

const INTERLEAVED_ACCOUNTS = LONG ? 1000 : 250;
const SAME_EVENT_PAIRS = 20;
const COPIES = 100;
const ONE_ACCOUNT_EVENTS = 50;

async function admin<T>(run: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: process.env.TEST_PG_ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

const parts = (label: string) => ({
  accountId: faultAccountId(label),
  customerId: fx.stripeId('cus'),
  subscriptionId: fx.stripeId('sub'),
});

describe('two API processes and two workers on one PostgreSQL and one Temporal', () => {
  const name = `billing_multi_${randomBytes(4).toString('hex')}`;
  let databaseUrl = '';
  let pool: pg.Pool;
  let processes: ServiceChild[] = [];
  let apis: string[] = [];

  beforeAll(async () => {
    await admin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
    const url = new URL(process.env.TEST_PG_ADMIN_URL ?? '');
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    guardPoolErrors(pool);
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => stopHelperProcess(p)));
    await pool?.end();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
  });

  it('when four processes start together on an empty database, then each migration runs once and all of them serve', async () => {
    const queue = `billing-test-${randomBytes(4).toString('hex')}`;
    const ports = [await findFreePort(), await findFreePort()];
    const common = { databaseUrl, taskQueue: queue, migrate: true };
    processes = await Promise.all([
      startServiceProcess({ ...common, role: 'api', port: ports[0] }),
      startServiceProcess({ ...common, role: 'api', port: ports[1] }),
      startServiceProcess({ ...common, role: 'worker' }),
      startServiceProcess({ ...common, role: 'worker' }),
    ]);
    apis = ports.map((p) => `http://127.0.0.1:${p}`);
    const files = fs.readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'));
    const ran = await pool.query<{ name: string; n: number }>(
      'SELECT name, count(*)::int AS n FROM schema_migrations GROUP BY name ORDER BY name',
    );
    expect(ran.rows).toEqual(files.sort().map((f) => ({ name: f.replace(/\.sql$/, ''), n: 1 })));
    for (const api of apis) expect((await fetch(`${api}/readyz`)).status).toBe(200);
  });

  it(`when the same event is posted to both APIs at once (${SAME_EVENT_PAIRS} times), ${COPIES} copies of one event arrive at once, and ${ONE_ACCOUNT_EVENTS} different events for one account arrive at once, then each is applied exactly once`, async () => {
    const t = nowS() - 600;
    const acks: Ack[] = [];
    const firstAnswers: Answer[][] = [];
    const record = (answers: Answer[], stripeId: string, lane: number) => {
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      expect(new Set(answers.map((a) => a.body.event_id)).size).toBe(1);
      expect(answers.filter((a) => a.body.duplicate === false)).toHaveLength(1);
      acks.push({
        stripeId,
        eventId: String(answers[0]?.body.event_id),
        lane,
        index: 0,
        posts: answers.length,
      });
      firstAnswers.push(answers);
    };
    // The same event to both APIs at once.
    const pairs = Array.from({ length: SAME_EVENT_PAIRS }, () =>
      fx.subscriptionCreated({ ...parts('pair'), created: t }),
    );
    await Promise.all(
      pairs.map(async (e, i) =>
        record(await Promise.all(apis.map((api) => postStripe(api, e))), e.id, i),
      ),
    );
    // 100 copies of one event at once, spread over both APIs.
    const copied = fx.subscriptionCreated({ ...parts('copies'), created: t });
    record(
      await Promise.all(
        Array.from({ length: COPIES }, (_, i) => postStripe(apis[i % 2] as string, copied)),
      ),
      copied.id,
      1000,
    );
    // 50 different events (50 subscriptions) for one account at once.
    const one = parts('fifty');
    const fifty = Array.from({ length: ONE_ACCOUNT_EVENTS }, () =>
      fx.subscriptionCreated({ ...one, subscriptionId: fx.stripeId('sub'), created: t }),
    );
    await Promise.all(
      fifty.map(async (e, i) =>
        record([await postStripe(apis[i % 2] as string, e)], e.id, 2000 + i),
      ),
    );
    const counts = await checkLedger(pool, { total: acks.length }, { acks });
    reportFigures('two APIs + two workers: same event to both, 100 copies, 50 for one account', {
      events: acks.length,
      posts: acks.reduce((n, a) => n + a.posts, 0),
      ...counts,
    });
    expect(counts).toMatchObject({ ...NOTHING_LOST, acknowledged: acks.length });
    const account = await pool.query<{ status: string }>(
      'SELECT status FROM billing_accounts WHERE account_id = $1',
      [one.accountId],
    );
    expect(account.rows[0]?.status).toBe('active');
  });

  it(`when ${INTERLEAVED_ACCOUNTS} accounts' events arrive interleaved across both APIs, then each is applied exactly once, in order per account`, async () => {
    const t = nowS() - 600;
    const lanes = Array.from({ length: INTERLEAVED_ACCOUNTS }, () => {
      const p = parts('many');
      return [
        fx.subscriptionCreated({ ...p, created: t }),
        fx.invoicePaid({ ...p, created: t + 10 }),
      ];
    });
    const stream: Stream = { lanes, hotAccountId: '', total: lanes.length * 2 };
    let n = 0;
    const sender = sendStream(() => apis[n++ % 2] as string, stream, { concurrency: 16 });
    await sender.done;
    const counts = await checkLedger(pool, stream, sender, { timeoutMs: 240_000 });
    reportFigures(`two APIs + two workers: ${INTERLEAVED_ACCOUNTS} accounts interleaved`, {
      ...counts,
      statuses: sender.statuses,
    });
    expect(sender.unexpected).toEqual([]);
    expect(counts).toMatchObject({ ...NOTHING_LOST, acknowledged: stream.total });
  });
});
