// Databases migrated by earlier builds start with today's service (docs/decisions.md, 2026-12-07):
// the released 0006 was renamed (0006_ops_thresholds → 0006_ops_thresholds_and_payload_archive,
// now split again into 0006_ops_thresholds and 0008_payload_archive), and 0003 and 0005 were
// added after higher numbers had run. Each database is migrated as that build did, then the
// service starts on it, migrates it and serves, and its schema is today's.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { MIGRATIONS_DIR } from '../../src/db/migrate';
import {
  type ServiceChild,
  startServiceProcess,
  stopHelperProcess,
} from '../helpers/child-process';
import { runTsx } from '../helpers/cli';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

const read = (name: string) => fs.readFileSync(path.join(MIGRATIONS_DIR, `${name}.sql`), 'utf8');

/** The migration files as a build had them: today's, or the 0006 of the rename. */
const RENAMED_0006 =
  read('0006_ops_thresholds') + read('0008_payload_archive').replace(/^-- Up Migration\n/, '');

const BUILDS: [string, Record<string, string>][] = [
  [
    'before the rename of 0006 (0003, 0008 and 0009 not there yet)',
    {
      '0001_billing_core': read('0001_billing_core'),
      '0002_event_dead_letters': read('0002_event_dead_letters'),
      '0004_derived_status': read('0004_derived_status'),
      '0005_account_deliveries': read('0005_account_deliveries'),
      '0006_ops_thresholds': read('0006_ops_thresholds'),
      '0007_reconciliation': read('0007_reconciliation'),
    },
  ],
  [
    'after the rename of 0006 (0003 not there yet)',
    {
      '0001_billing_core': read('0001_billing_core'),
      '0002_event_dead_letters': read('0002_event_dead_letters'),
      '0004_derived_status': read('0004_derived_status'),
      '0005_account_deliveries': read('0005_account_deliveries'),
      '0006_ops_thresholds_and_payload_archive': RENAMED_0006,
      '0007_reconciliation': read('0007_reconciliation'),
      '0009_account_pending_events': read('0009_account_pending_events'),
    },
  ],
];

/** Tables and columns, functions with their source, triggers and views of the public schema. */
async function schemaOf(db: TestDatabase): Promise<unknown> {
  const q = async (sql: string) => (await db.pool.query<Record<string, unknown>>(sql)).rows;
  return {
    columns: await q(`SELECT table_name, column_name, data_type, is_nullable
                        FROM information_schema.columns WHERE table_schema = 'public'
                       ORDER BY table_name, column_name`),
    functions: await q(`SELECT p.proname, md5(p.prosrc) AS source FROM pg_proc p
                          JOIN pg_namespace n ON n.oid = p.pronamespace
                         WHERE n.nspname = 'public' ORDER BY p.proname`),
    triggers: await q(`SELECT tgrelid::regclass::text AS on_table, tgname FROM pg_trigger
                        WHERE NOT tgisinternal ORDER BY 1, 2`),
    views: await q(`SELECT viewname, md5(definition) AS definition FROM pg_views
                     WHERE schemaname = 'public' ORDER BY viewname`),
  };
}

const recorded = async (db: TestDatabase) =>
  (
    await db.pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')
  ).rows.map((r) => r.name);

describe('a database migrated by an earlier build', () => {
  const started: ServiceChild[] = [];
  const databases: TestDatabase[] = [];
  let today: unknown;

  beforeAll(async () => {
    const fresh = await createTestDatabase();
    databases.push(fresh);
    today = await schemaOf(fresh);
  });
  afterAll(async () => {
    for (const s of started) await stopHelperProcess(s);
    for (const db of databases) await db.drop();
  });

  async function migratedBy(files: Record<string, string>): Promise<TestDatabase> {
    const db = await createTestDatabase({ empty: true });
    databases.push(db);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-migrations-'));
    for (const [name, sql] of Object.entries(files))
      fs.writeFileSync(path.join(dir, `${name}.sql`), sql);
    const run = await runTsx('test/helpers/migrate-as-of.ts', [dir], {
      DATABASE_URL: db.databaseUrl,
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(await recorded(db)).toEqual(Object.keys(files).sort());
    return db;
  }

  const start = (db: TestDatabase) =>
    startServiceProcess({
      databaseUrl: db.databaseUrl,
      taskQueue: `billing-test-${randomBytes(4).toString('hex')}`,
      role: 'api',
      migrate: true,
    });

  it.each(BUILDS)(
    'when it was migrated %s, then the service migrates it to today’s schema and starts',
    async (_build, files) => {
      const db = await migratedBy(files);
      const service = await start(db);
      started.push(service);
      expect((await fetch(`${service.ready.apiUrl}/readyz`)).status).toBe(200);
      const names = fs.readdirSync(MIGRATIONS_DIR).map((f) => f.replace(/\.sql$/, ''));
      expect(await recorded(db)).toEqual(names.sort());
      expect(await schemaOf(db)).toEqual(today);
    },
  );

  it('when it has run a migration this version does not have, then start-up stops with a sentence naming it', async () => {
    const db = await migratedBy(BUILDS[0]?.[1] ?? {});
    await db.pool.query(
      "INSERT INTO schema_migrations (name, run_on) VALUES ('0099_from_a_newer_version', now())",
    );
    await expect(start(db)).rejects.toThrow(
      /migration 0099_from_a_newer_version, which this version of the service does not have/,
    );
  });
});
