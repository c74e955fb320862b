// Every service a test starts logs, at debug level, into one directory per run (.test-logs/ at the
// repository root, cleared by global-setup.ts). After the suite, test/logs/ scans the directory for
// secrets (`npm test` runs it last, see scripts/test.mjs). One file per service or child process,
// named `<kind>-<test file>-<random>.log`, written through a buffered file stream: no fsync, and
// nothing a test waits for.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { createLogger, type Logger } from '../../src/log';

export const TEST_LOG_DIR = path.resolve(__dirname, '..', '..', '.test-logs');

/** What started the process or logger; the scan counts log files per kind. */
export const TEST_LOG_KINDS = [
  'stack', // the suite's PostgreSQL + Temporal dev server (global-setup.ts)
  'service', // startService(): API + worker + sweeper in the test process
  'api',
  'worker',
  'delivery',
  'activities',
  'service-process', // test/helpers/service-process.ts in a child process
  'postgres-process',
  'temporal', // a Temporal server of a test's own (test/helpers/temporal.ts)
  'npm-start', // src/main.ts as `npm start` runs it
  'cli', // the operator CLI's output
] as const;
export type TestLogKind = (typeof TEST_LOG_KINDS)[number];

/** The kind a log file's name starts with (the longest that fits), or null. */
export function kindOfLogFile(name: string): TestLogKind | null {
  const fits = TEST_LOG_KINDS.filter((k) => name === `${k}.log` || name.startsWith(`${k}-`));
  return fits.sort((a, b) => b.length - a.length)[0] ?? null;
}

export interface TestLogFile {
  file: string;
  write(chunk: string | Buffer): void;
  /** Flushes and closes the stream; a line written later is appended synchronously. */
  close(): Promise<void>;
}

/** The test file being run (Jest's state), for the log file's name. */
function testFileName(): string {
  const testPath = typeof expect === 'undefined' ? undefined : expect.getState().testPath;
  return testPath ? path.basename(testPath).replace(/\.test\.ts$/, '') : 'outside-jest';
}

export function testLogPath(kind: TestLogKind): string {
  fs.mkdirSync(TEST_LOG_DIR, { recursive: true });
  return path.join(TEST_LOG_DIR, `${kind}-${testFileName()}-${randomBytes(3).toString('hex')}.log`);
}

export function openTestLog(kind: TestLogKind): TestLogFile {
  const file = testLogPath(kind);
  const stream = fs.createWriteStream(file, { flags: 'a' });
  // A log that cannot be written must not fail the test that wrote it (the scan will see the gap).
  stream.on('error', () => undefined);
  let closed: Promise<void> | null = null;
  return {
    file,
    write: (chunk) => {
      if (closed) fs.appendFileSync(file, chunk);
      else stream.write(chunk);
    },
    close: () => (closed ??= new Promise<void>((resolve) => stream.end(() => resolve()))),
  };
}

/** The service's own logger (src/log.ts, redaction included) at debug level, into a file. */
export function createTestLogger(kind: TestLogKind): { logger: Logger; log: TestLogFile } {
  const log = openTestLog(kind);
  return { logger: createLogger('debug', 'billing', log), log };
}

/** A child's stdout and stderr, as they come, into a file closed when the child's streams are. */
export function recordChildOutput(
  child: ChildProcess,
  kind: TestLogKind,
  opts: { skipFirstStdoutLine?: boolean } = {},
): TestLogFile {
  const log = openTestLog(kind);
  child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  // A helper's first stdout line is its ready handshake (addresses, a database URL with its
  // password): the protocol between test and helper, not a log.
  let skipping = opts.skipFirstStdoutLine === true;
  child.stdout?.on('data', (chunk: Buffer) => {
    if (!skipping) return log.write(chunk);
    const newline = chunk.indexOf('\n');
    if (newline < 0) return;
    skipping = false;
    if (newline + 1 < chunk.length) log.write(chunk.subarray(newline + 1));
  });
  child.once('close', () => void log.close());
  return log;
}
