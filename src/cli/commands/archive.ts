// archive-events <YYYY-MM>: move a closed month's processed payloads into the archive table.
import type { Command } from 'commander';

import { archiveMonth, type ArchiveResult } from '../../ops/archive';
import { DAILY_CHECK_THRESHOLDS } from '../../ops/daily-check-context';
import type { CliContext } from '../context';
import { EXIT, progressReporter, writeJson } from '../output';
import type { Runner } from '../run';

interface ArchiveOpts {
  dryRun?: boolean;
  json?: boolean;
}

function write(out: NodeJS.WritableStream, r: ArchiveResult): void {
  out.write(
    `${r.month} (${r.start} – ${r.end}): ${r.before.events} event(s); ` +
      `payloads archived before: ${r.before.archived}, ${r.dry_run ? 'would archive' : 'archived now'}: ${r.dry_run ? r.before.archivable : r.archived_now}; ` +
      `kept (not processed yet): ${r.after.unprocessed}.\n` +
      (r.dry_run
        ? 'Dry run: nothing was moved.\n'
        : 'Every event stays in billing_events; read payloads through the billing_events_full view.\n'),
  );
}

async function archive(ctx: CliContext, month: string, opts: ArchiveOpts): Promise<number> {
  const result = await archiveMonth(await ctx.db(), month, {
    timeZone: DAILY_CHECK_THRESHOLDS.DAY_TIME_ZONE,
    dryRun: opts.dryRun,
    onProgress: progressReporter(ctx.err, 'archive-events'),
  });
  if (opts.json) writeJson(ctx.out, result);
  else write(ctx.out, result);
  return EXIT.OK;
}

export function registerArchiveCommands(program: Command, run: Runner): void {
  program
    .command('archive-events <month>')
    .description(
      "move a closed month's (YYYY-MM, Japan time) processed event payloads into billing_event_payloads_archive; rows and every event stay",
    )
    .option('--dry-run', 'count only')
    .option('--json', 'machine-readable output')
    .action((month: string, opts: ArchiveOpts) => run((ctx) => archive(ctx, month, opts)));
}
