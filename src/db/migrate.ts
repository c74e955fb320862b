import path from 'node:path';

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/** Applies the numbered SQL migrations in src/db/migrations, each in its own transaction. */
export async function runMigrations(
  databaseUrl: string,
  log: (msg: string) => void = () => undefined,
): Promise<void> {
  // node-pg-migrate is ESM-only; Node ≥ 20.19 loads it through require().
  const { runner } = await import('node-pg-migrate');
  await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'schema_migrations',
    count: Infinity,
    checkOrder: true,
    // Several processes starting together (two APIs, two workers) wait for the first one's
    // migrations instead of failing; each migration still runs once.
    advisoryLockMode: 'wait',
    log: (msg: string) => log(msg),
    logger: { debug: () => undefined, info: log, warn: log, error: log },
  });
}
