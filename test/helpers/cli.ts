// Running the service's own entry points as an operator would: `tsx <script>` from the repository
// root, with only PATH and the environment given (nothing leaks in from the test process). What
// they print goes to the run's log directory as well (test-logs.ts).
import { execFile } from 'node:child_process';
import path from 'node:path';

import type { TestService } from './service';
import { openTestLog } from './test-logs';

const REPO = path.resolve(__dirname, '..', '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');

export interface Run {
  /** The exit code; -1 when the process ended without one (killed, timed out). */
  code: number;
  stdout: string;
  stderr: string;
}

/** `tsx <script> ...args` in the repository root, with PATH and `env` as its whole environment. */
export function runTsx(script: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [script, ...args],
      { cwd: REPO, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        const log = openTestLog('cli');
        log.write(`${[script, ...args].join(' ')}\n${stdout}${stderr}`);
        void log.close();
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The operator CLI (`src/cli/index.ts`) against the test service's database and Temporal. */
export function runCli(service: TestService, args: string[]): Promise<Run> {
  return runTsx('src/cli/index.ts', args, {
    DATABASE_URL: service.db.databaseUrl,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS ?? '',
    TEMPORAL_NAMESPACE: service.config.temporalNamespace,
    TEMPORAL_TASK_QUEUE: service.config.taskQueue,
  });
}
