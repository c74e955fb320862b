// RUNBOOK.md walks an operator through every incident with this product's commands: every
// `npm run ops -- …` it shows must be a real command with real options, and it must cover the
// checklist's incidents, its monthly maintenance, every daily-check item and every trigger
// scenario, in English and Japanese.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Command } from 'commander';

import { buildProgram } from '../../src/cli';
import { PortInUseError } from '../../src/config/ports';
import { acquireInstanceLock, INSTANCE_LOCK_FILE } from '../../src/dev/instance-lock';
import { describeExit, SUPERVISED, supervisorLines } from '../../src/dev/supervisor';
import { DAILY_CHECKS } from '../../src/ops/daily-check';
import { SCENARIOS } from '../../src/ops/trigger/scenarios';

const runbook = fs.readFileSync(path.resolve(__dirname, '..', '..', 'RUNBOOK.md'), 'utf8');
const program = buildProgram(() => Promise.resolve());

/** Every `npm run ops -- …` command line in the runbook, without trailing comments. */
const commandLines = [...runbook.matchAll(/npm run ops -- ([^`\n]+)/g)].map((m) =>
  (m[1] ?? '').replace(/\s+#.*$/, '').trim(),
);

function problemsOf(line: string): string[] {
  const words = line.split(/\s+/);
  let cmd: Command = program;
  const names: string[] = [];
  while (words[0] && !words[0].startsWith('-')) {
    const next = cmd.commands.find((c) => c.name() === words[0]);
    if (!next) break;
    cmd = next;
    names.push(words.shift() ?? '');
  }
  if (names.length === 0) return [`"${line}": no such command`];
  if (cmd.commands.length > 0) return [`"${line}": ${names.join(' ')} needs a subcommand`];
  const known = new Set(cmd.options.map((o) => o.long));
  return words
    .filter((w) => w.startsWith('--'))
    .map((w) => w.split('=')[0] ?? w)
    .filter((flag) => !known.has(flag))
    .map((flag) => `"${line}": ${names.join(' ')} has no option ${flag}`);
}

/** The runbook from `heading` to the next `## ` heading. */
function section(heading: string): string {
  const start = runbook.indexOf(heading);
  if (start < 0) return '';
  const end = runbook.indexOf('\n## ', start + heading.length);
  return runbook.slice(start, end < 0 ? undefined : end);
}

/**
 * A line the code prints, as a pattern the runbook's example must match: numbers (pids, ports,
 * seconds, times) and the given variable parts (a path, a reason) may differ.
 */
function template(line: string, ...variable: string[]): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let pattern = escape(line);
  for (const part of variable) pattern = pattern.split(escape(part)).join('@VARIABLE@');
  return new RegExp(pattern.replace(/\d+/g, '\\d+').replace(/@VARIABLE@/g, '.+'));
}

/** Every port start-up may find taken, by its setting. */
const PORT_SETTINGS = [
  'PORT',
  'WORKER_HEALTH_PORT',
  'LOCAL_PG_PORT',
  'LOCAL_TEMPORAL_PORT',
  'LOCAL_TEMPORAL_UI_PORT',
];

describe('RUNBOOK.md', () => {
  it('when a command, a subcommand or an option does not exist, then the check names it', () => {
    expect(problemsOf('daily-chek')).toEqual(['"daily-chek": no such command']);
    expect(problemsOf('gate-override')).toEqual([
      '"gate-override": gate-override needs a subcommand',
    ]);
    expect(problemsOf('gate-override set --reason x --ttl 2h --forever')).toEqual([
      '"gate-override set --reason x --ttl 2h --forever": gate-override set has no option --forever',
    ]);
  });

  it('when it shows a command, then the CLI has that command and those options', () => {
    expect(commandLines.length).toBeGreaterThan(20);
    expect(commandLines.flatMap(problemsOf)).toEqual([]);
  });

  it('when an operator looks for an incident or the monthly maintenance, then it is there in both languages', () => {
    for (const heading of [
      '## Incident A: billing not reflected / 障害A：課金が反映されない',
      '## Incident B: everyone suddenly stopped / 障害B：全員が突然停止した',
      '## Incident C: the same event applied repeatedly / 障害C：同じイベントが繰り返し適用された',
      '## Monthly maintenance / 月次メンテナンス',
      '## Stripe manual test procedure / Stripe 手動テスト手順',
    ])
      expect(runbook).toContain(heading);
    // The override replaces "comment out the gate".
    expect(runbook).toContain('npm run ops -- gate-override set');
    expect(runbook).toContain('コメントアウト');
  });

  it('when an operator looks for a restored database or the local stack, then the sections are there in both languages, with the procedure', () => {
    for (const heading of [
      '## After restoring PostgreSQL from a backup / PostgreSQL をバックアップから復元した後',
      '## Local stack (`npm start`): a server stopped, or start-up refused / ローカル環境（`npm start`）：サーバー停止・起動拒否',
    ])
      expect(runbook).toContain(heading);
    const restore = section('## After restoring PostgreSQL from a backup');
    expect(restore).toContain('npm run ops -- rebuild-projection --apply --reload-all');
    expect(restore).toContain('workflows told to reload: <n>; not running: <m>');
    expect(restore).toMatch(/Resend/);
    expect(restore).toContain('npm run ops -- reconcile --all');
  });

  it('when the local stack reports a server that died or a start-up it refused, then the runbook quotes the line the code prints', () => {
    const local = section('## Local stack (`npm start`)');
    const died = { code: null, signal: 'SIGKILL' as const };
    for (const name of Object.values(SUPERVISED)) {
      expect(local).toMatch(template(supervisorLines.exited(name, died, 1000), describeExit(died)));
      expect(local).toMatch(template(supervisorLines.restarted(name, 48213)));
    }
    expect(local).toMatch(
      template(supervisorLines.notRestarted(SUPERVISED.postgres, 'REASON', 30_000), 'REASON'),
    );
    expect(local).toMatch(template(new PortInUseError(3000, 'the API', 'PORT').message));
    for (const setting of PORT_SETTINGS) expect(local).toContain(`\`${setting}\``);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-runbook-'));
    const warned: string[] = [];
    try {
      fs.writeFileSync(
        path.join(dir, INSTANCE_LOCK_FILE),
        // A lock of a killed run: above Linux's largest pid (2^22), no process has that pid.
        JSON.stringify({
          pid: 2 ** 22 + 1,
          process_start: null,
          started_at: '2026-12-07T09:00:00.000Z',
          api_url: null,
        }),
      );
      const lock = acquireInstanceLock(dir, (line) => warned.push(line));
      lock.update({ apiUrl: 'http://localhost:3000' });
      let refused = '';
      try {
        acquireInstanceLock(dir, () => undefined);
      } catch (err) {
        refused = (err as Error).message;
      }
      lock.release();
      expect(warned).toHaveLength(1);
      expect(local).toMatch(template(warned[0] ?? 'none', dir));
      expect(local).toMatch(template(`billing: could not start: ${refused}`, dir));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the daily check or the trigger gains an item, then the runbook explains it', () => {
    const missingItems = DAILY_CHECKS.map((c) => c.name).filter(
      (n) => !runbook.includes(`\`${n}\``),
    );
    expect(missingItems).toEqual([]);
    const missingScenarios = Object.keys(SCENARIOS).filter(
      (s) => !runbook.includes(`\`${s}\``) && !runbook.includes(`trigger ${s} `),
    );
    expect(missingScenarios).toEqual([]);
  });
});
