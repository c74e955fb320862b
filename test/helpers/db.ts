// A fresh database per test file, cloned from the migrated `billing_template` that global-setup
// prepared: each file starts from the real schema and cannot see another file's rows.
import { randomBytes } from 'node:crypto';

import { Client, Pool } from 'pg';

import { guardPoolErrors } from '../../src/db/pool';

export interface TestDatabase {
  databaseUrl: string;
  pool: Pool;
  /** Closes the pool and drops the database (connections still open are terminated). */
  drop(): Promise<void>;
}

/** A database cloned from the migrated template, or (`empty`) one with no schema at all. */
export async function createTestDatabase(opts: { empty?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = requiredEnv('TEST_PG_ADMIN_URL');
  const template = opts.empty ? 'template0' : requiredEnv('TEST_PG_TEMPLATE');
  const name = `billing_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (admin) =>
    admin.query(
      `CREATE DATABASE ${admin.escapeIdentifier(name)} TEMPLATE ${admin.escapeIdentifier(template)}`,
    ),
  );
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const pool = new Pool({ connectionString: databaseUrl });
  // DROP … WITH (FORCE) in another file, or a killed server, must not crash the test process.
  guardPoolErrors(pool);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await pool.end();
    await withAdmin(adminUrl, (admin) =>
      admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`),
    );
  };
  return { databaseUrl, pool, drop };
}

async function withAdmin<T>(adminUrl: string, run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests through jest.config.js (its globalSetup starts PostgreSQL).`,
    );
  }
  return value;
}
