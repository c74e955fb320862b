// reconcile: converge with Stripe when webhooks were missed (SPEC §3 rule 2). Every difference is
// recorded as a `reconcile` event and applied by the account's workflow; nothing else is written.
import type { Command } from 'commander';
import { ConfigError, loadReconcileSettings } from '../../config';
import { AppError } from '../../domain/errors';
import { reconcileStripe, type ReconcileSummary } from '../../services/reconcile';
import { createStripeApi } from '../../services/stripe-api';
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
  const summary = await reconcileStripe({ pool, temporal: ctx.temporal() }, stripe, {
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
}
