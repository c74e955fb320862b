// reconcile: converge with Stripe when webhooks were missed (SPEC §3 rule 2). Every difference is
// recorded as a `reconcile` event and applied by the account's workflow; nothing else is written.
import fs from 'node:fs';
import path from 'node:path';

import type { Command } from 'commander';
import iconv from 'iconv-lite';

import { ConfigError, loadReconcileSettings } from '../../config';
import { AppError } from '../../domain/errors';
import { parseCsv, readMemberRows } from '../../domain/member-list';
import { parseMyaspTimestamp } from '../../domain/myasp/timestamp';
import { reconcileMyasp } from '../../services/reconcile/myasp';
import type { ReconcileSummary } from '../../services/reconcile/runs';
import { reconcileStripe } from '../../services/reconcile/stripe';
import { createStripeApi } from '../../services/stripe-api';
import { applyThrough } from '../../temporal/client';
import type { CliContext } from '../context';
import { EXIT, progressReporter, writeJson, writeTable } from '../output';
import type { Runner } from '../run';
import { defaultActor } from './accounts';

interface ReconcileOpts {
  account?: string;
  all?: boolean;
  json?: boolean;
}

export function writeSummary(out: NodeJS.WritableStream, s: ReconcileSummary): void {
  out.write(
    `Reconciled ${s.accounts_checked} account(s) with ${s.provider}: ${s.accounts_corrected} corrected, ${s.events_recorded} event(s) recorded, ${s.errors.length} error(s) (run ${s.run_id}).\n`,
  );
  if (s.corrections.length > 0) {
    writeTable(
      out,
      ['account', 'object', 'differed', 'event_id', 'outcome', 'status'],
      s.corrections.map((c) => [
        c.account_id,
        c.object,
        c.differences,
        c.event_id,
        c.outcome ?? 'PENDING',
        `${c.from_status ?? '-'} -> ${c.to_status ?? '-'}`,
      ]),
    );
  }
  for (const e of s.errors) out.write(`  error  ${e.account_id}: ${e.message}\n`);
}

async function reconcile(ctx: CliContext, opts: ReconcileOpts): Promise<number> {
  if ((opts.account === undefined) === (opts.all !== true)) {
    throw new AppError(
      'reconcile_scope',
      'Say which accounts to reconcile: --account <id> for one, or --all for every account linked to Stripe.',
      400,
    );
  }
  const settings = loadReconcileSettings();
  if (settings.stripeApiKey === null) {
    throw new ConfigError(
      'STRIPE_API_KEY is not set; reconciliation asks Stripe for each customer’s subscriptions, so set a secret or restricted key with read access to subscriptions.',
    );
  }
  const pool = await ctx.db();
  const stripe = createStripeApi({
    apiKey: settings.stripeApiKey,
    apiUrl: settings.stripeApiUrl,
    onRateLimited: (ms) => ctx.err.write(`Stripe answered 429 (rate limited); waiting ${ms} ms.\n`),
  });
  const summary = await reconcileStripe({ pool, apply: applyThrough(ctx.temporal()) }, stripe, {
    accountId: opts.account,
    startedBy: defaultActor(),
    concurrency: settings.concurrency,
    onProgress: progressReporter(ctx.err, 'reconcile', 'accounts'),
  });
  if (opts.json) writeJson(ctx.out, summary);
  else writeSummary(ctx.out, summary);
  return summary.errors.length === 0 ? EXIT.OK : EXIT.FAILED;
}

export function registerReconcileCommands(program: Command, run: Runner): void {
  program
    .command('reconcile')
    .description(
      "ask Stripe for every subscription of each linked customer and record each difference from the account's state as a reconcile event (needs STRIPE_API_KEY)",
    )
    .option('--account <id>', 'one account')
    .option('--all', 'every account linked to a Stripe customer')
    .option('--json', 'machine-readable output')
    .action((opts: ReconcileOpts) => run((ctx) => reconcile(ctx, opts)));
  registerReconcileMyaspCommand(program, run);
}

interface MyaspOpts {
  csv: string;
  encoding: string;
  userColumn: string;
  statusColumn: string;
  dateColumn?: string;
  exportedAt?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** UTF-8 when the bytes are valid UTF-8 (a BOM is dropped), else Shift_JIS (Windows' CP932). */
function decodeExport(bytes: Buffer, encoding: string): string {
  const wanted = encoding.toLowerCase().replace(/[-_]/g, '');
  if (wanted === 'utf8' || wanted === 'auto') {
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      if (wanted === 'utf8')
        throw new AppError(
          'invalid_encoding',
          'The file is not valid UTF-8; MyASP exports from Windows are Shift_JIS: pass --encoding shift_jis (or auto).',
          400,
        );
    }
  } else if (wanted !== 'shiftjis' && wanted !== 'sjis' && wanted !== 'cp932') {
    throw new AppError(
      'invalid_encoding',
      `Encoding "${encoding}" is not auto, utf-8 or shift_jis.`,
      400,
    );
  }
  return iconv.decode(bytes, 'cp932');
}

async function reconcileMyaspCsv(ctx: CliContext, opts: MyaspOpts): Promise<number> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(opts.csv);
  } catch (err) {
    throw new AppError(
      'file_unreadable',
      `Cannot read ${opts.csv}: ${(err as Error).message}`,
      400,
    );
  }
  const exportedAt = opts.exportedAt
    ? parseMyaspTimestamp(opts.exportedAt)
    : fs.statSync(opts.csv).mtime;
  if (exportedAt === null)
    throw new AppError(
      'invalid_exported_at',
      `--exported-at "${opts.exportedAt}" is not a date and time.`,
      400,
    );
  const { rows, problems } = readMemberRows(parseCsv(decodeExport(bytes, opts.encoding)), {
    user_id: opts.userColumn,
    status: opts.statusColumn,
    date: opts.dateColumn ?? null,
  });
  for (const p of problems) ctx.err.write(`${opts.csv}:${p.line}: ${p.message}\n`);
  if (rows.length === 0 && problems.length > 0) return EXIT.FAILED;
  const pool = await ctx.db();
  const apply = opts.dryRun ? undefined : applyThrough(ctx.temporal());
  const { findings, summary } = await reconcileMyasp({ pool, apply }, rows, {
    file: path.basename(opts.csv),
    startedBy: defaultActor(),
    exportedAt: exportedAt.toISOString(),
    dryRun: opts.dryRun === true,
  });
  if (opts.json) writeJson(ctx.out, { dry_run: opts.dryRun === true, findings, summary, problems });
  else if (summary) writeSummary(ctx.out, summary);
  else {
    ctx.out.write(
      `Dry run: ${findings.length} of ${rows.length} member(s) differ; nothing was written.\n`,
    );
    if (findings.length > 0)
      writeTable(
        ctx.out,
        ['account', 'user_id', 'differed', 'status'],
        findings.map((f) => [
          f.account_id,
          f.user_id,
          f.differences,
          `${f.from_code ?? '-'} -> ${f.to_code}`,
        ]),
      );
  }
  return problems.length === 0 && (summary?.errors.length ?? 0) === 0 ? EXIT.OK : EXIT.FAILED;
}

export function registerReconcileMyaspCommand(program: Command, run: Runner): void {
  program
    .command('reconcile-myasp')
    .description(
      'compare an exported MyASP member list (CSV, UTF-8 or Shift_JIS) with the accounts and record each difference as a reconcile event',
    )
    .requiredOption('--csv <file>', 'the exported member list')
    .option('--encoding <name>', 'auto | utf-8 | shift_jis', 'auto')
    .option('--user-column <name>', 'column with the MyASP user id', 'user_id')
    .option('--status-column <name>', 'column with the status code 1–4', 'status')
    .option('--date-column <name>', 'column with the date the status was set (optional)')
    .option('--exported-at <time>', 'when the list was exported (default: the file time)')
    .option('--dry-run', 'only print the differences; write nothing')
    .option('--json', 'machine-readable output')
    .action((opts: MyaspOpts) => run((ctx) => reconcileMyaspCsv(ctx, opts)));
}
