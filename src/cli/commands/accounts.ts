// correct <account> <status> (a manual event, SPEC §4.2) and replay <account> (the timeline).
import { randomUUID } from 'node:crypto';
import os from 'node:os';

import type { Command } from 'commander';

import { EventDelivery } from '../../delivery/outbox';
import { replayTimeline, type Timeline } from '../../ops/integrity';
import { correctAccount } from '../../services/account-events';
import type { CliContext } from '../context';
import { EXIT, writeJson, writeTable } from '../output';
import type { Runner } from '../run';

interface CorrectOpts {
  reason: string;
  actor?: string;
  cancelAt?: string;
  json?: boolean;
}

/** Who runs the command, for the audit trail: --actor, else the login name. */
export function defaultActor(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli';
  }
}

async function correct(
  ctx: CliContext,
  account: string,
  status: string,
  opts: CorrectOpts,
): Promise<number> {
  const pool = await ctx.db();
  const temporal = await ctx.temporalChecked();
  // The correction is stored, then applied by the account workflow (update-with-start); the
  // delivery object is only what the service type asks for — a CLI run does not sweep.
  const delivery = new EventDelivery(pool, temporal, ctx.logger, { waitMs: 0 });
  const input = {
    account_id: account,
    status,
    reason: opts.reason,
    actor: opts.actor ?? defaultActor(),
    scheduled_cancel_at: opts.cancelAt ?? null,
  };
  const r = await correctAccount({ pool, temporal, delivery, waitMs: 15_000 }, input, {
    now: new Date(),
    requestId: randomUUID(),
  });
  const answer = {
    account_id: account,
    event_id: r.event.id,
    outcome: r.outcome,
    pending: r.outcome === null,
    account: r.account,
  };
  if (opts.json) writeJson(ctx.out, answer);
  else ctx.out.write(`${describeCorrection(answer)}\n`);
  return r.outcome === 'applied' ? EXIT.OK : EXIT.FAILED;
}

function describeCorrection(a: {
  account_id: string;
  event_id: string;
  outcome: string | null;
  account: { status: string } | null;
}): string {
  if (a.outcome === null) {
    return `Stored as event ${a.event_id}, but the account workflow did not answer in time; the running service will apply it (check with replay ${a.account_id}).`;
  }
  if (a.outcome === 'applied')
    return `Event ${a.event_id} applied: ${a.account_id} is now ${a.account?.status ?? 'unknown'}.`;
  return `Event ${a.event_id} was ${a.outcome}: ${a.account_id} is unchanged (${a.account?.status ?? 'no billing record'}).`;
}

function writeTimeline(out: NodeJS.WritableStream, t: Timeline): void {
  const now = t.current
    ? `${t.current.status} (last event ${t.current.last_event_id})`
    : 'no billing record';
  out.write(`${t.account_id}: ${now}; ${t.entries.length} event(s), ${t.pending} pending\n`);
  const rows = t.entries.map((e) => [
    e.position,
    e.event_id,
    e.occurred_at,
    `${e.source}/${e.event_type}`,
    e.pending ? 'PENDING' : e.outcome,
    e.action,
    e.pending ? '' : `${e.from_status ?? '-'} -> ${e.to_status ?? '-'}`,
    e.reason,
  ]);
  if (rows.length > 0)
    writeTable(
      out,
      ['#', 'event_id', 'occurred_at', 'source/type', 'outcome', 'audit', 'status', 'reason'],
      rows,
    );
}

async function replay(ctx: CliContext, account: string, opts: { json?: boolean }): Promise<number> {
  const timeline = await replayTimeline(await ctx.db(), account);
  if (opts.json) writeJson(ctx.out, timeline);
  else writeTimeline(ctx.out, timeline);
  if (timeline.entries.length === 0) {
    ctx.err.write(`No events are stored for account ${account}.\n`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

export function registerAccountCommands(program: Command, run: Runner): void {
  program
    .command('correct')
    .description('correct an account by hand: stored as a manual event and applied by its workflow')
    .argument('<account>', 'account id')
    .argument(
      '<status>',
      'free | early_payment | active | canceling | past_due | stopped | canceled',
    )
    .requiredOption('--reason <text>', 'why (kept in the audit log)')
    .option('--actor <name>', 'who (default: cli:<login name>)')
    .option('--cancel-at <iso>', 'scheduled_cancel_at, required when correcting to canceling')
    .option('--json', 'machine-readable output')
    .action((account: string, status: string, opts: CorrectOpts) =>
      run((ctx) => correct(ctx, account, status, opts)),
    );
  program
    .command('replay')
    .description("show an account's history as a timeline, in processed order")
    .argument('<account>', 'account id')
    .option('--json', 'machine-readable output')
    .action((account: string, opts: { json?: boolean }) =>
      run((ctx) => replay(ctx, account, opts)),
    );
}
