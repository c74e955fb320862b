// Entry point: `npm start` runs everything (role=all); `--role=api` / `--role=worker` run one half.
// With DATABASE_URL / TEMPORAL_ADDRESS unset it starts embedded PostgreSQL and the Temporal dev
// server (with its Web UI) under ./.data itself.
import fs from 'node:fs';
import path from 'node:path';

import {
  type Config,
  ConfigError,
  dataDirOf,
  environment,
  isLocalMode,
  loadConfig,
  loadEnvFile,
} from './config';
import { createLogger, type Logger } from './log';
import { type Role, runServices } from './runtime';

function parseRole(argv: string[]): Role {
  const arg = argv.find((a) => a.startsWith('--role='));
  const role = arg ? arg.slice('--role='.length) : 'all';
  if (role === 'all' || role === 'api' || role === 'worker') return role;
  throw new ConfigError(`--role=${role} is not a role; use all, api or worker.`);
}

async function configure(): Promise<{ config: Config; role: Role; secretsFile: string | null }> {
  const envFile = loadEnvFile();
  if (envFile) process.stdout.write(`billing: read settings from ${envFile}\n`);
  const role = parseRole(process.argv.slice(2));
  const local = isLocalMode();
  const dataDir = dataDirOf();
  // Local mode only: src/dev is loaded on this path alone (see src/runtime.ts), never in production.
  const dev = local ? (await import('./dev/dev-secrets.js')).loadOrCreateDevSecrets(dataDir) : null;
  const config = loadConfig(environment(), dev ? { devSecrets: dev.secrets } : {});
  return { config, role, secretsFile: dev?.file ?? null };
}

async function main(): Promise<void> {
  let setup: Awaited<ReturnType<typeof configure>>;
  try {
    setup = await configure();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`billing: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger: Logger = createLogger(setup.config.logLevel);
  const running = await runServices(setup.config, setup.role, logger);
  // With DATABASE_URL and TEMPORAL_ADDRESS set nothing else creates the data directory.
  fs.mkdirSync(path.resolve(setup.config.dataDir), { recursive: true });
  fs.writeFileSync(
    path.resolve(setup.config.dataDir, 'runtime.json'),
    JSON.stringify(running.info, null, 2) + '\n',
    { mode: 0o600 },
  );
  const lines = [
    `billing orchestrator is running (${setup.role})`,
    running.info.apiUrl && `  API:          ${running.info.apiUrl}`,
    running.info.workerHealthUrl && `  Worker health: ${running.info.workerHealthUrl}/readyz`,
    running.info.temporalUiUrl && `  Temporal UI:  ${running.info.temporalUiUrl}`,
    `  Temporal:     ${running.info.temporalAddress} (namespace ${running.info.namespace})`,
    `  PostgreSQL:   ${running.info.databaseUrlRedacted}`,
    setup.secretsFile &&
      `  Local secrets (webhook secret, MyASP token, admin token): ${setup.secretsFile}`,
    '  Stop with Ctrl-C.',
  ];
  process.stdout.write(lines.filter(Boolean).join('\n') + '\n');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: shutting down…\n`);
    running
      .stop()
      .then(() => process.stdout.write('billing orchestrator stopped\n', () => process.exit(0)))
      .catch((err: unknown) => {
        process.stderr.write(
          `billing: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`,
        );
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `billing: could not start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
