// Migrates DATABASE_URL with the SQL files of the directory given, the way an earlier build of the
// service did (node-pg-migrate into schema_migrations), so a test can start today's service on a
// database as that build left it. A process of its own: node-pg-migrate is ESM-only, which Jest's
// module loader cannot require.
const [dir] = process.argv.slice(2);

import('node-pg-migrate')
  .then(({ runner }) =>
    runner({
      databaseUrl: process.env.DATABASE_URL ?? '',
      dir: dir ?? '',
      direction: 'up',
      migrationsTable: 'schema_migrations',
      count: Infinity,
      checkOrder: false,
      log: () => undefined,
    }),
  )
  .catch((err: unknown) => {
    process.stderr.write(`migrate-as-of: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
