// daily-check, integrity-check, dedupe-check, rebuild-projection.
import type { Command } from 'commander';

import { listAllAccounts } from '../../db/queries/billing-accounts';
import { AppError } from '../../domain/errors';
import { runDailyCheck } from '../../ops/daily-check';
import {
  dedupeCheck,
  defaultRebuildThreads,
  integrityCheck,
  rebuildProjection,
  type RebuildResult,
} from '../../ops/integrity';
import { type BillingTemporal, reloadAccounts, temporalProbe } from '../../temporal/client';
import type { CliContext } from '../context';
import { EXIT, progressReporter, writeChecks, writeJson, writeTable } from '../output';
import type { Runner } from '../run';

interface JsonOpt {
  json?: boolean;
}

const exitFor = (ok: boolean) => (ok ? EXIT.OK : EXIT.FAILED);
const probeOf = (t: BillingTemporal | undefined) => (t ? temporalProbe(t) : undefined);

async function dailyCheck(ctx: CliContext, opts: JsonOpt): Promise<number> {
  const result = await runDailyCheck(await ctx.db(), {
    trigger: 'cli',
    temporal: probeOf(ctx.temporalIfKnown()),
  });
  if (opts.json) writeJson(ctx.out, result);
  else writeChecks(ctx.out, `daily check ${result.ran_at}`, result);
  return exitFor(result.ok);
}

async function integrity(ctx: CliContext, opts: JsonOpt): Promise<number> {
  const result = await integrityCheck(await ctx.db());
  if (opts.json) writeJson(ctx.out, result);
  else writeChecks(ctx.out, `integrity check ${result.checked_at}`, result);
  return exitFor(result.ok);
}

async function dedupe(ctx: CliContext, opts: JsonOpt): Promise<number> {
  const result = await dedupeCheck(await ctx.db());
  if (opts.json) writeJson(ctx.out, result);
  else {
    ctx.out.write(`duplicate dedupe_keys: ${result.duplicates}\n`);
    if (result.keys.length > 0)
      writeTable(
        ctx.out,
        ['dedupe_key', 'stored'],
        result.keys.map((k) => [k.dedupe_key, k.n]),
      );
  }
  return exitFor(result.ok);
}

function writeRebuild(out: NodeJS.WritableStream, r: RebuildResult, apply: boolean): void {
  out.write(
    `events folded: ${r.events}; accounts rebuilt: ${r.accounts}; matching: ${r.matching}\n`,
  );
  if (r.differing.length > 0) {
    out.write('differing columns:\n');
    writeTable(
      out,
      ['account_id', 'column', 'billing_accounts', 'rebuilt'],
      r.differing.map((d) => [
        d.account_id,
        d.column,
        JSON.stringify(d.projection),
        JSON.stringify(d.rebuilt),
      ]),
    );
  }
  if (r.missing.length > 0)
    out.write(
      `missing rows (events produce them, billing_accounts lacks them): ${r.missing.join(', ')}\n`,
    );
  if (r.extra.length > 0)
    out.write(
      `extra rows (no processed event produces them; left in place): ${r.extra.join(', ')}\n`,
    );
  for (const m of r.outcome_mismatches)
    out.write(
      `event ${m.event_id} (${m.account_id}): stored ${m.stored}, the transition now decides ${m.rebuilt}\n`,
    );
  if (apply) out.write(`rewritten: ${r.written.length ? r.written.join(', ') : 'none'}\n`);
  if (r.skipped.length > 0)
    out.write(`skipped (an event was applied meanwhile; run again): ${r.skipped.join(', ')}\n`);
  const verdict = r.ok
    ? 'billing_accounts matches the events.'
    : apply
      ? 'Some differences remain; see above.'
      : 'billing_accounts differs from the events; run with --apply to rewrite the rows from the events.';
  out.write(`${verdict}\n`);
}

type RebuildOpts = JsonOpt & { apply?: boolean; reloadAll?: boolean; threads: string };

async function rebuild(ctx: CliContext, opts: RebuildOpts): Promise<number> {
  const apply = opts.apply === true;
  const threads = Number(opts.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new AppError(
      'invalid_threads',
      `--threads takes a whole number from 1 to 64; got "${opts.threads}".`,
    );
  }
  const onProgress = progressReporter(ctx.err, 'rebuild-projection');
  const db = await ctx.db();
  const parallel = { databaseUrl: ctx.settings().databaseUrl, threads };
  const result = await rebuildProjection(db, { apply, onProgress, parallel });
  // Running account workflows hold the state in memory: tell them to re-read the rewritten rows.
  // After a database restore every workflow is ahead of its row, rewritten or not: --reload-all.
  const toReload = opts.reloadAll
    ? (await listAllAccounts(db)).map((a) => a.account_id)
    : result.written;
  const temporal = toReload.length > 0 ? ctx.temporalIfKnown() : undefined;
  const workflows = temporal ? await reloadAccounts(temporal, toReload, 5000) : null;
  if (opts.json) writeJson(ctx.out, { ...result, workflows });
  else {
    writeRebuild(ctx.out, result, apply);
    if (workflows) {
      ctx.out.write(
        `workflows told to reload: ${workflows.reloaded.length}; not running: ${workflows.not_running.length}\n`,
      );
    } else if (toReload.length > 0) {
      ctx.out.write(
        'Temporal is not configured: running account workflows will reload on their next restart.\n',
      );
    }
  }
  return exitFor(result.ok);
}

export function registerCheckCommands(program: Command, run: Runner): void {
  program
    .command('daily-check')
    .description(
      'the daily 5-minute check: ok/warn/fail per item; the result is kept in daily_check_runs',
    )
    .option('--json', 'machine-readable output')
    .action((opts: JsonOpt) => run((ctx) => dailyCheck(ctx, opts)));
  program
    .command('integrity-check')
    .description(
      'verify the invariants of SPEC §4 (dedupe, last_event_id, audit rows, append-only triggers)',
    )
    .option('--json', 'machine-readable output')
    .action((opts: JsonOpt) => run((ctx) => integrity(ctx, opts)));
  program
    .command('dedupe-check')
    .description('count dedupe_keys stored more than once (must be 0)')
    .option('--json', 'machine-readable output')
    .action((opts: JsonOpt) => run((ctx) => dedupe(ctx, opts)));
  program
    .command('rebuild-projection')
    .description(
      'rebuild billing_accounts from billing_events and compare; --apply rewrites differing rows',
    )
    .option('--apply', 'write the rebuilt rows (one transaction)')
    .option(
      '--threads <n>',
      'fold on n worker threads, each over its share of the accounts (default: one per core, at most 4)',
      String(defaultRebuildThreads()),
    )
    .option(
      '--reload-all',
      'tell every account workflow to re-read its row, not only rewritten ones (after a database restore)',
    )
    .option('--json', 'machine-readable output')
    .action((opts: RebuildOpts) => run((ctx) => rebuild(ctx, opts)));
}
