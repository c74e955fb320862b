// dead-letters list | show <event_id> | retry <event_id> | retry --all: stored events that could
// not be delivered to their account workflow and wait for an operator.
import type { Command } from 'commander';

import { EventDelivery } from '../../delivery/outbox';
import { AppError } from '../../domain/errors';
import {
  listDeadLetters,
  retryDeadLetter,
  type RetryResult,
  showDeadLetter,
} from '../../services/dead-letters';
import type { CliContext } from '../context';
import { EXIT, writeJson, writeTable } from '../output';
import type { Runner } from '../run';

interface JsonOpt {
  json?: boolean;
}

async function list(ctx: CliContext, opts: JsonOpt): Promise<number> {
  const rows = await listDeadLetters(await ctx.db(), 1000);
  if (opts.json) writeJson(ctx.out, { dead_letters: rows });
  else if (rows.length === 0) ctx.out.write('No dead-lettered event.\n');
  else
    writeTable(
      ctx.out,
      ['event_id', 'source', 'event_type', 'account_id', 'dead_at', 'failures', 'last_error'],
      rows.map((d) => [
        d.event_id,
        d.source,
        d.event_type,
        d.account_id_length > 60 ? `${d.account_id}… (${d.account_id_length} chars)` : d.account_id,
        d.dead_at,
        d.failures,
        d.last_error,
      ]),
    );
  return EXIT.OK;
}

async function show(ctx: CliContext, eventId: string, opts: JsonOpt): Promise<number> {
  const d = await showDeadLetter(await ctx.db(), eventId);
  if (opts.json) writeJson(ctx.out, d);
  else {
    const lines: [string, unknown][] = [
      ['event_id', d.event_id],
      ['source', d.source],
      ['event_type', d.event_type],
      ['dedupe_key', d.dedupe_key],
      ['account_id', d.full_account_id],
      ['account_id length', d.account_id_length],
      ['received_at', d.received_at],
      ['dead_at', d.dead_at],
      ['attempts', d.attempts],
      ['failures', d.failures],
      ['last_error', d.last_error],
      ['payload', JSON.stringify(d.payload)],
    ];
    for (const [k, v] of lines) ctx.out.write(`${k.padEnd(18)} ${String(v)}\n`);
  }
  return EXIT.OK;
}

function describeRetry(r: RetryResult): string {
  switch (r.result) {
    case 'delivered':
      return `Event ${r.event_id} delivered to its account workflow.`;
    case 'dead':
      return `Event ${r.event_id} is still dead-lettered: ${r.last_error ?? 'no reason recorded'}`;
    case 'failed':
      return `Event ${r.event_id} was refused again (${r.last_error ?? 'no reason recorded'}); the running service retries it and dead-letters it again if it keeps failing.`;
    case 'unavailable':
      return `Event ${r.event_id} is back in the delivery queue, but Temporal did not answer (${r.last_error ?? 'no reason recorded'}); the running service delivers it once Temporal is back.`;
  }
}

async function retry(
  ctx: CliContext,
  eventId: string | undefined,
  opts: JsonOpt & { all?: boolean },
): Promise<number> {
  if (Boolean(eventId) === Boolean(opts.all))
    throw new AppError(
      'invalid_arguments',
      'Give one event id (`dead-letters retry 42`) or --all, not both and not neither.',
    );
  const pool = await ctx.db();
  const delivery = new EventDelivery(pool, await ctx.temporalChecked(), ctx.logger, { waitMs: 0 });
  const ids = eventId ? [eventId] : (await listDeadLetters(pool, 10_000)).map((d) => d.event_id);
  const results: RetryResult[] = [];
  for (const id of ids) {
    const r = await retryDeadLetter({ pool, delivery }, id);
    results.push(r);
    if (!opts.json) ctx.out.write(`${describeRetry(r)}\n`);
  }
  await delivery.stop();
  if (opts.json) writeJson(ctx.out, { retried: results });
  else if (ids.length === 0) ctx.out.write('No dead-lettered event to retry.\n');
  return results.some((r) => r.result === 'dead' || r.result === 'failed') ? EXIT.FAILED : EXIT.OK;
}

export function registerDeadLetterCommands(program: Command, run: Runner): void {
  const group = program
    .command('dead-letters')
    .description('stored events that cannot be delivered to their account workflow');
  group
    .command('list')
    .description('dead-lettered events, oldest first')
    .option('--json', 'machine-readable output')
    .action((opts: JsonOpt) => run((ctx) => list(ctx, opts)));
  group
    .command('show')
    .description('one dead-lettered event: why, how often, and its payload')
    .argument('<event_id>', 'billing_events.id')
    .option('--json', 'machine-readable output')
    .action((id: string, opts: JsonOpt) => run((ctx) => show(ctx, id, opts)));
  group
    .command('retry')
    .description('send a dead-lettered event (or --all) to its workflow again, now')
    .argument('[event_id]', 'billing_events.id')
    .option('--all', 'every dead-lettered event')
    .option('--json', 'machine-readable output')
    .action((id: string | undefined, opts: JsonOpt & { all?: boolean }) =>
      run((ctx) => retry(ctx, id, opts)),
    );
}
