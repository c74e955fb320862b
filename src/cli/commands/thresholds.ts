// thresholds list | set | reset: the daily check's judgement thresholds (src/ops/thresholds.ts).
import type { Command } from 'commander';

import { listThresholds } from '../../db/queries/daily-check';
import {
  changeThreshold,
  formatThreshold,
  loadThresholds,
  restoreDefault,
  THRESHOLD_NAMES,
  THRESHOLDS,
} from '../../ops/thresholds';
import type { CliContext } from '../context';
import { EXIT, writeJson, writeTable } from '../output';
import type { Runner } from '../run';
import { defaultActor } from './accounts';

async function list(ctx: CliContext, opts: { json?: boolean }): Promise<number> {
  const pool = await ctx.db();
  const [inForce, stored] = await Promise.all([loadThresholds(pool), listThresholds(pool)]);
  const rows = THRESHOLD_NAMES.map((name) => {
    const set = stored.find((s) => s.name === name);
    return {
      name,
      value: inForce[name],
      default: THRESHOLDS[name].default,
      set_by: set ? `${set.updated_by} at ${set.updated_at}` : null,
      meaning: THRESHOLDS[name].meaning,
    };
  });
  if (opts.json) writeJson(ctx.out, { thresholds: rows });
  else
    writeTable(
      ctx.out,
      ['name', 'value', 'default', 'set by', 'meaning'],
      rows.map((r) => [
        r.name,
        formatThreshold(r.name, r.value),
        formatThreshold(r.name, r.default),
        r.set_by ?? '—',
        r.meaning,
      ]),
    );
  return EXIT.OK;
}

async function set(
  ctx: CliContext,
  name: string,
  value: string,
  opts: { actor?: string },
): Promise<number> {
  const r = await changeThreshold(await ctx.db(), name, value, opts.actor ?? defaultActor());
  ctx.out.write(
    `${r.name} = ${formatThreshold(r.name, r.value)}; the next daily check judges by it.\n`,
  );
  return EXIT.OK;
}

async function reset(ctx: CliContext, name: string): Promise<number> {
  const known = await restoreDefault(await ctx.db(), name);
  ctx.out.write(
    `${known} is back to its default, ${formatThreshold(known, THRESHOLDS[known].default)}.\n`,
  );
  return EXIT.OK;
}

export function registerThresholdCommands(program: Command, run: Runner): void {
  const cmd = program
    .command('thresholds')
    .description("the daily check's judgement thresholds (the checklist's numbers by default)");
  cmd
    .command('list')
    .description('every threshold with its value in force, its default and who set it')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => run((ctx) => list(ctx, opts)));
  cmd
    .command('set <name> <value>')
    .description('set a threshold: a share as 0.5 or 50%, a count as a whole number')
    .option('--actor <who>', 'who sets it (default: $USER)')
    .action((name: string, value: string, opts: { actor?: string }) =>
      run((ctx) => set(ctx, name, value, opts)),
    );
  cmd
    .command('reset <name>')
    .description('go back to the default')
    .action((name: string) => run((ctx) => reset(ctx, name)));
}
