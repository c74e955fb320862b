// billing-ops: the operator CLI (SPEC §7). `npm run ops -- <command>` or `npx billing-ops <command>`.
// Exit codes: 0 fine, 1 a check failed (or a correction was not applied), 2 the command could not run.
import { Command, CommanderError } from 'commander';

import { ConfigError, loadEnvFile } from '../config';
import { registerAccountCommands } from './commands/accounts';
import { registerArchiveCommands } from './commands/archive';
import { registerCheckCommands } from './commands/checks';
import { registerDeadLetterCommands } from './commands/dead-letters';
import { registerNotificationCommands } from './commands/notifications';
import { registerOverrideCommands } from './commands/overrides';
import { registerReconcileCommands } from './commands/reconcile';
import { registerThresholdCommands } from './commands/thresholds';
import { registerTriggerCommands } from './commands/trigger';
import { registerWhatIfCommands } from './commands/what-if';
import { EXIT } from './output';
import { createRunner, type Runner } from './run';

export function buildProgram(run: Runner = createRunner()): Command {
  const program = new Command('billing-ops')
    .description(
      'Operator commands for the billing orchestrator: checks, rebuild, what-if, corrections, gate overrides, dead letters.',
    )
    .addHelpText(
      'after',
      '\nConnection: DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, and for a cluster with TLS TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME or TEMPORAL_API_KEY (as the service reads them); when unset, .data/runtime.json written by `npm start`.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCheckCommands(program, run);
  registerAccountCommands(program, run);
  registerOverrideCommands(program, run);
  registerDeadLetterCommands(program, run);
  registerNotificationCommands(program, run);
  registerReconcileCommands(program, run);
  registerThresholdCommands(program, run);
  registerTriggerCommands(program, run);
  registerArchiveCommands(program, run);
  registerWhatIfCommands(program, run);
  for (const sub of allCommands(program)) sub.exitOverride();
  return program;
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

async function flushAndExit(code: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
  process.exit(code);
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    // Commander has already printed its one-line message (unknown command, missing option, help).
    const helpShown =
      err instanceof CommanderError &&
      (err.code === 'commander.helpDisplayed' || err.code === 'commander.version');
    process.exitCode = helpShown ? EXIT.OK : EXIT.CANNOT_RUN;
  }
  await flushAndExit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK);
}

/** `.env` in the working directory, as for `npm start`; a malformed one stops with one line. */
function readEnvFile(): void {
  try {
    const file = loadEnvFile();
    if (file) process.stderr.write(`billing-ops: read settings from ${file}\n`);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`billing-ops: ${err.message}\n`);
    process.exit(EXIT.CANNOT_RUN);
  }
}

if (require.main === module) {
  readEnvFile();
  void main();
}
