// gate-override set | clear | list: the emergency fail-open switch (SPEC §2), time-boxed and audited.
import type { Command } from 'commander';

import { listOverrides, type OverrideRow } from '../../db/queries/gate-overrides';
import { AppError } from '../../domain/errors';
import { clearOverride, expiryFromTtl, setOverride } from '../../services/overrides';
import type { CliContext } from '../context';
import { EXIT, writeJson, writeTable } from '../output';
import type { Runner } from '../run';
import { defaultActor } from './accounts';

interface SetOpts {
  account?: string;
  actions: string;
  reason: string;
  ttl?: string;
  expiresAt?: string;
  actor?: string;
  json?: boolean;
}

/** --ttl 2h or --expires-at <iso>, exactly one. */
export function overrideExpiry(opts: { ttl?: string; expiresAt?: string }, now: Date): string {
  if (Boolean(opts.ttl) === Boolean(opts.expiresAt)) {
    throw new AppError(
      'invalid_expiry',
      'Give exactly one of --ttl (e.g. 2h) or --expires-at (ISO-8601); an override must end by itself.',
    );
  }
  return opts.expiresAt ?? expiryFromTtl(opts.ttl, now, '--ttl');
}

const splitActions = (raw: string) =>
  raw
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');

async function set(ctx: CliContext, opts: SetOpts): Promise<number> {
  const now = new Date();
  const input = {
    account_id: opts.account ?? null,
    actions: splitActions(opts.actions),
    reason: opts.reason,
    actor: opts.actor ?? defaultActor(),
    expires_at: overrideExpiry(opts, now),
  };
  if (input.actions.length === 0)
    throw new AppError('invalid_actions', '--actions needs at least one action, e.g. confirm.');
  const r = await setOverride(
    { pool: await ctx.db(), temporal: await ctx.temporalChecked() },
    input,
    now,
  );
  if (opts.json) writeJson(ctx.out, r);
  else {
    const scope = r.override.account_id ?? 'every account';
    const timer =
      r.expiry_timer === 'started'
        ? ''
        : ' (expiry timer pending: Temporal did not answer; the gate ignores it after expiry anyway)';
    ctx.out.write(
      `Override ${r.override.id} set: ${r.override.actions.join(',')} allowed for ${scope} until ${r.override.expires_at}${timer}.\n`,
    );
  }
  return EXIT.OK;
}

async function clear(
  ctx: CliContext,
  id: string,
  opts: { reason?: string; actor?: string; json?: boolean },
): Promise<number> {
  const row = await clearOverride(
    { pool: await ctx.db(), temporal: await ctx.temporalChecked() },
    id,
    opts.actor ?? defaultActor(),
    opts.reason ?? 'cleared by operator',
  );
  if (opts.json) writeJson(ctx.out, { override: row });
  else ctx.out.write(`Override ${row.id} cleared at ${row.cleared_at ?? 'now'}.\n`);
  return EXIT.OK;
}

function state(o: OverrideRow, now: number): string {
  if (o.cleared_at) return o.cleared_by === 'system' ? 'expired' : 'cleared';
  return Date.parse(o.expires_at) > now ? 'live' : 'expired';
}

async function list(ctx: CliContext, opts: { all?: boolean; json?: boolean }): Promise<number> {
  const rows = await listOverrides(await ctx.db(), { all: opts.all === true });
  if (opts.json) {
    writeJson(ctx.out, { overrides: rows });
    return EXIT.OK;
  }
  if (rows.length === 0)
    ctx.out.write(
      opts.all ? 'No gate override was ever set.\n' : 'No gate override is in force.\n',
    );
  const now = Date.now();
  const table = rows.map((o) => [
    o.id,
    state(o, now),
    o.account_id ?? '*',
    o.actions,
    o.expires_at,
    o.created_by,
    o.reason,
  ]);
  if (rows.length > 0)
    writeTable(ctx.out, ['id', 'state', 'account', 'actions', 'expires_at', 'by', 'reason'], table);
  return EXIT.OK;
}

export function registerOverrideCommands(program: Command, run: Runner): void {
  const group = program
    .command('gate-override')
    .description('emergency fail-open switches for the gate (time-boxed, audited)');
  group
    .command('set')
    .description('allow gated actions despite the billing status, until the override expires')
    .option('--account <id>', 'one account (default: every account)')
    // The SPEC's default gated action; the CLI reads only connection settings, not GATED_ACTIONS.
    .option('--actions <list>', 'comma-separated gated actions', 'confirm')
    .requiredOption('--reason <text>', 'the emergency it covers (kept in the audit log)')
    .option('--ttl <duration>', 'how long, e.g. 30m, 2h, 1d')
    .option('--expires-at <iso>', 'when it ends (instead of --ttl)')
    .option('--actor <name>', 'who (default: cli:<login name>)')
    .option('--json', 'machine-readable output')
    .action((opts: SetOpts) => run((ctx) => set(ctx, opts)));
  group
    .command('clear')
    .description('end an override before it expires')
    .argument('<id>', 'override id (ovr_…)')
    .option('--reason <text>', 'why', 'cleared by operator')
    .option('--actor <name>', 'who (default: cli:<login name>)')
    .option('--json', 'machine-readable output')
    .action((id: string, opts: { reason?: string; actor?: string; json?: boolean }) =>
      run((ctx) => clear(ctx, id, opts)),
    );
  group
    .command('list')
    .description('overrides in force (--all: also cleared and expired ones)')
    .option('--all', 'include cleared and expired overrides')
    .option('--json', 'machine-readable output')
    .action((opts: { all?: boolean; json?: boolean }) => run((ctx) => list(ctx, opts)));
}
