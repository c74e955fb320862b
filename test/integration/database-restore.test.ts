// Recovery from a database restore while Temporal keeps its workflows (docs/runbook: "restoring
// PostgreSQL from a backup"). The restored database reuses billing_events ids the account
// workflows have already seen; every new event must still be applied, exactly once.
import { randomBytes } from 'node:crypto';

import { Client, Pool } from 'pg';

import { guardPoolErrors } from '../../src/db/pool';
import * as fx from '../fixtures/stripe';
import { outcomeOf, statusBecomes } from '../helpers/accounts';
import { runCli } from '../helpers/cli';
import type { TestDatabase } from '../helpers/db';
import { postStripe } from '../helpers/http';
import { uid } from '../helpers/ids';
import { startService } from '../helpers/service';

const adminUrl = () => process.env.TEST_PG_ADMIN_URL ?? '';

async function admin(sql: (c: Client) => string): Promise<void> {
  const c = new Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    await c.query(sql(c));
  } finally {
    await c.end();
  }
}

/** A database whose pool can be closed and reopened around CREATE DATABASE … TEMPLATE. */
async function restorableDatabase(): Promise<
  TestDatabase & { name: string; reopen(): void; close(): Promise<void> }
> {
  const name = `billing_restore_${process.pid}_${randomBytes(4).toString('hex')}`;
  const template = process.env.TEST_PG_TEMPLATE ?? '';
  await admin(
    (c) => `CREATE DATABASE ${c.escapeIdentifier(name)} TEMPLATE ${c.escapeIdentifier(template)}`,
  );
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const db = {
    name,
    databaseUrl: url.toString(),
    pool: guarded(new Pool({ connectionString: url.toString() })),
    reopen() {
      db.pool = guarded(new Pool({ connectionString: db.databaseUrl }));
    },
    close: () => db.pool.end(),
    async drop() {
      await db.pool.end().catch(() => undefined);
      await admin((c) => `DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
  return db;
}

const nowS = () => Math.floor(Date.now() / 1000);

function guarded(pool: Pool): Pool {
  guardPoolErrors(pool);
  return pool;
}

describe('a database restored from a backup under running workflows', () => {
  it('when an older database is restored, then the documented procedure brings the workflows back and every new event is applied', async () => {
    const db = await restorableDatabase();
    const backup = `${db.name}_backup`;
    // One task queue across the restarts: the account workflow lives on it.
    const env = { TEMPORAL_TASK_QUEUE: `billing-restore-${randomBytes(4).toString('hex')}` };
    const account = uid('acct_restore');
    const ids = { customerId: fx.stripeId('cus'), subscriptionId: fx.stripeId('sub') };
    const o = { ...ids, accountId: account };
    const t0 = nowS() - 3600;
    const post = async (svcUrl: string, event: fx.StripeEventJson) => {
      const r = await postStripe(svcUrl, event);
      expect(r.status).toBe(200);
      return String(r.body.event_id);
    };
    try {
      let svc = await startService({ db, env });
      await post(svc.baseUrl, fx.subscriptionCreated({ ...o, created: t0 }));
      await statusBecomes(svc, account, 'active');
      await svc.stop();

      // The backup: the database as it was with only the subscription.
      await db.close();
      await admin(
        (c) =>
          `CREATE DATABASE ${c.escapeIdentifier(backup)} TEMPLATE ${c.escapeIdentifier(db.name)}`,
      );
      db.reopen();

      svc = await startService({ db, env });
      const lost: string[] = [];
      lost.push(await post(svc.baseUrl, fx.invoicePaymentFailed({ ...o, created: t0 + 10 })));
      lost.push(await post(svc.baseUrl, fx.invoicePaid({ ...o, created: t0 + 20 })));
      lost.push(
        await post(
          svc.baseUrl,
          fx.subscriptionUpdated({ ...o, created: t0 + 30, cancelAtPeriodEnd: true }),
        ),
      );
      for (const id of lost) expect(await outcomeOf(svc, id)).toBe('applied');
      await statusBecomes(svc, account, 'canceling');
      await svc.stop();

      // The restore: the database goes back to the backup; Temporal keeps the workflow as it is.
      await db.close();
      await admin((c) => `DROP DATABASE ${c.escapeIdentifier(db.name)} WITH (FORCE)`);
      await admin(
        (c) =>
          `CREATE DATABASE ${c.escapeIdentifier(db.name)} TEMPLATE ${c.escapeIdentifier(backup)}`,
      );
      db.reopen();
      svc = await startService({ db, env });

      // The procedure: rebuild from the restored events and make every workflow re-read its row.
      const procedure = await runCli(svc, ['rebuild-projection', '--apply', '--reload-all']);
      expect(procedure.code).toBe(0);
      expect(procedure.stdout).toContain('workflows told to reload: 1');
      await statusBecomes(svc, account, 'active');

      // New events reuse the ids of the events the restore lost.
      const fresh: string[] = [];
      fresh.push(await post(svc.baseUrl, fx.invoicePaymentFailed({ ...o, created: t0 + 40 })));
      expect(lost).toContain(fresh[0]);
      expect(await outcomeOf(svc, fresh[0])).toBe('applied');
      await statusBecomes(svc, account, 'past_due');
      fresh.push(await post(svc.baseUrl, fx.invoicePaid({ ...o, created: t0 + 50 })));
      fresh.push(
        await post(
          svc.baseUrl,
          fx.subscriptionUpdated({ ...o, created: t0 + 60, status: 'active' }),
        ),
      );
      for (const id of fresh) expect(await outcomeOf(svc, id)).toBe('applied');
      await statusBecomes(svc, account, 'active');

      const audit = await db.pool.query<{ n: string }>(
        'SELECT count(*)::text AS n FROM audit_logs WHERE event_id = ANY($1::bigint[])',
        [fresh],
      );
      expect(audit.rows[0]?.n).toBe(String(fresh.length));
      const check = await runCli(svc, ['rebuild-projection']);
      expect(check.code).toBe(0);
      await svc.stop();
    } finally {
      await db.drop();
      await admin((c) => `DROP DATABASE IF EXISTS ${c.escapeIdentifier(backup)} WITH (FORCE)`);
    }
  });
});
