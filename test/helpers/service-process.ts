// The service in a process of its own, configured from its environment like `npm start` with
// DATABASE_URL and TEMPORAL_ADDRESS set. Prints ONE JSON line `{"apiUrl": …}` on stdout when
// ready; logs go to stderr through the service's own logger (src/log.ts, redaction included).
// Tests that must see whether the service survives a fault (it has no uncaught-exception handler
// of its own), or that SIGKILL it, run it here.
//
// Arguments: `--role=all|api|worker` (default all), `--migrate` (run the migrations first, as
// `npm start` does; default off because test databases are cloned from a migrated template).
import pino from 'pino';

import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { type Role, runServices } from '../../src/runtime';

function parseArgs(argv: string[]): { role: Role; migrate: boolean } {
  const roleArg = argv.find((a) => a.startsWith('--role='))?.slice('--role='.length) ?? 'all';
  if (roleArg !== 'all' && roleArg !== 'api' && roleArg !== 'worker')
    throw new Error(`--role=${roleArg} is not a role; use all, api or worker.`);
  return { role: roleArg, migrate: argv.includes('--migrate') };
}

async function main(): Promise<void> {
  const { role, migrate } = parseArgs(process.argv.slice(2));
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, 'billing', pino.destination(2));
  const running = await runServices(config, role, logger, {
    migrate,
    schedules: false,
    sweepIntervalMs: 300,
    sweepMinAgeMs: 200,
  });
  process.stdout.write(`${JSON.stringify({ apiUrl: running.info.apiUrl, pid: process.pid })}\n`);
  const stop = () => void running.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`service-process: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
