// Installs the Temporal SDK's logger in each test file of the workflow, integration and infra
// tests, before any worker or connection: WARN and above to stderr at once, the rest to the
// environment's buffer (sdk-log-environment.ts), printed only when a test fails.
import { DefaultLogger, type LogEntry, Runtime } from '@temporalio/worker';

const buffer = (globalThis as { __TEMPORAL_SDK_LOG__?: (line: string) => void })
  .__TEMPORAL_SDK_LOG__;
const everything = process.env.TEMPORAL_SDK_LOGS === '1';

function write(entry: LogEntry): void {
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const line = `${at} [${entry.level}] ${entry.message} ${JSON.stringify(entry.meta ?? {})}`;
  if (everything || entry.level === 'WARN' || entry.level === 'ERROR' || !buffer)
    process.stderr.write(`${line}\n`);
  else buffer(line);
}

Runtime.install({ logger: new DefaultLogger('INFO', write), shutdownSignals: [] });
