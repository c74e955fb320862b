// "Logs from a full test run contain no secret, token, signature or card-like number": every log
// the suite's services, child processes and CLI runs wrote into .test-logs/ (test/helpers/
// test-logs.ts), read after the whole suite. `npm test` runs this last (scripts/test.mjs) with
// jest.logs.config.js; the main Jest config leaves this folder out, so a single test file run
// alone never meets it.
import fs from 'node:fs';
import path from 'node:path';

import { findSecrets } from '../helpers/log-scan';
import { kindOfLogFile, TEST_LOG_DIR, type TestLogKind } from '../helpers/test-logs';

/**
 * What a full run writes at the least: files (one per service, child process or CLI run) and
 * lines per group. It writes more (fuzz.test.ts alone logs thousands of refusals). Fewer means
 * the suite did not run, or its services stopped writing here, and a scan of nothing would pass.
 */
const FULL_RUN_AT_LEAST: { kinds: TestLogKind[]; files: number; lines: number }[] = [
  { kinds: ['stack'], files: 1, lines: 10 },
  { kinds: ['service', 'api', 'worker', 'delivery', 'activities'], files: 30, lines: 500 },
  { kinds: ['service-process', 'postgres-process'], files: 5, lines: 20 },
  { kinds: ['npm-start'], files: 3, lines: 10 },
  { kinds: ['cli'], files: 10, lines: 10 },
];

interface LogFile {
  name: string;
  kind: TestLogKind | null;
  text: string;
}

function readLogs(): LogFile[] {
  if (!fs.existsSync(TEST_LOG_DIR)) return [];
  return fs
    .readdirSync(TEST_LOG_DIR)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => ({
      name,
      kind: kindOfLogFile(name),
      text: fs.readFileSync(path.join(TEST_LOG_DIR, name), 'utf8'),
    }));
}

describe(`the logs of the whole test run (${path.relative(process.cwd(), TEST_LOG_DIR)})`, () => {
  const logs = readLogs();

  it('when the suite has run, then its services, child processes and CLI runs all left logs there', () => {
    const lineCount = (l: LogFile) => l.text.split('\n').filter(Boolean).length;
    const byKind: Record<string, { files: number; lines: number }> = {};
    for (const l of logs) {
      const k = (byKind[l.kind ?? 'other'] ??= { files: 0, lines: 0 });
      k.files += 1;
      k.lines += lineCount(l);
    }
    process.stdout.write(`[logs] ${logs.length} log files; by kind ${JSON.stringify(byKind)}\n`);
    const written = FULL_RUN_AT_LEAST.map(({ kinds, files, lines }) => {
      const group = logs.filter((l) => l.kind && kinds.includes(l.kind));
      return {
        kinds,
        files: Math.min(files, group.length),
        lines: Math.min(
          lines,
          group.reduce((n, l) => n + lineCount(l), 0),
        ),
      };
    });
    expect(written).toEqual(FULL_RUN_AT_LEAST);
  });

  it('when every log is scanned, then none holds a secret, token, signature or card-like number', () => {
    const findings = logs.flatMap(({ name, text }) =>
      findSecrets(text).map((f) => `${name}:${f.line} ${f.kind} (${f.masked})`),
    );
    expect(findings).toEqual([]);
  });
});
