// RUNBOOK.md walks an operator through every incident with this product's commands: every
// `npm run ops -- …` it shows must be a real command with real options, and it must cover the
// checklist's incidents, its monthly maintenance, every daily-check item and every trigger
// scenario, in English and Japanese.
import fs from 'node:fs';
import path from 'node:path';

import type { Command } from 'commander';

import { buildProgram } from '../../src/cli';
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
