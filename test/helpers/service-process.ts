// The whole service (API + worker + delivery sweeper) in a process of its own, configured from
// its environment like `npm start` with DATABASE_URL and TEMPORAL_ADDRESS set. Prints ONE JSON
// line `{"apiUrl": …}` on stdout when listening; logs go to stderr. Tests that must see whether
// the service survives a fault (it has no uncaught-exception handler of its own) run it here.
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { runServices } from '../../src/runtime';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = pino({ level: config.logLevel }, pino.destination(2));
  const running = await runServices(config, 'all', logger, {
    migrate: false,
    schedules: false,
    sweepIntervalMs: 300,
    sweepMinAgeMs: 200,
  });
  process.stdout.write(`${JSON.stringify({ apiUrl: running.info.apiUrl })}\n`);
  const stop = () => void running.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`service-process: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
