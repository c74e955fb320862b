// notifications list | retry [--endpoint <id>] [--since <time>]: the host app's notification
// endpoints, their health and the messages that ran out of retries (SPEC §10).
import type { Command } from 'commander';

import {
  enableEndpoint,
  endpointHealth,
  listFailedMessages,
  requeueFailed,
} from '../../db/queries/notifications';
import { AppError } from '../../domain/errors';
import { wakeNotificationEndpoint } from '../../temporal/client';
import type { CliContext } from '../context';
import { EXIT, writeJson, writeTable } from '../output';
import type { Runner } from '../run';

interface Opts {
  endpoint?: string;
  since?: string;
  json?: boolean;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since` as an instant: an ISO time, or an age like 30m, 24h, 7d. */
function sinceOf(text: string | undefined, now = new Date()): string | null {
  if (text === undefined) return null;
  const age = /^(\d+)([mhd])$/.exec(text);
  if (age)
    return new Date(now.getTime() - Number(age[1]) * (UNITS[age[2] ?? 'h'] ?? 0)).toISOString();
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new AppError(
      'invalid_arguments',
      `--since "${text}" is neither a time (2026-12-07T09:00:00Z) nor an age (30m, 24h, 7d).`,
    );
  return new Date(at).toISOString();
}

async function list(ctx: CliContext, opts: Opts): Promise<number> {
  const pool = await ctx.db();
  const endpoints = (await endpointHealth(pool)).filter(
    (e) => !opts.endpoint || e.id === opts.endpoint,
  );
  const failed = await listFailedMessages(pool, {
    endpointId: opts.endpoint ?? null,
    since: sinceOf(opts.since),
    limit: 1000,
  });
  if (opts.json) {
    writeJson(ctx.out, { endpoints, failed });
    return EXIT.OK;
  }
  if (endpoints.length === 0) ctx.out.write('No notification endpoint.\n');
  else
    writeTable(
      ctx.out,
      ['endpoint', 'url', 'state', 'sent', 'pending', 'failed', 'oldest_pending', 'last_status'],
      endpoints.map((e) => [
        e.id,
        e.url,
        e.disabled_at ? `disabled: ${e.disabled_reason ?? ''}` : 'active',
        e.delivered,
        e.pending,
        e.failed,
        e.oldest_pending_at ?? '',
        e.last_status ?? '',
      ]),
    );
  if (failed.length === 0) ctx.out.write('No failed message.\n');
  else {
    ctx.out.write('\nFailed messages (ran out of retries):\n');
    writeTable(
      ctx.out,
      ['endpoint', 'change_id', 'account_id', 'seq', 'attempts', 'failed_at', 'last_error'],
      failed.map((m) => [
        m.endpoint_id,
        m.change_id,
        m.account_id,
        m.seq,
        m.attempts,
        m.failed_at,
        m.last_error,
      ]),
    );
  }
  return EXIT.OK;
}

async function retry(ctx: CliContext, opts: Opts): Promise<number> {
  const pool = await ctx.db();
  const since = sinceOf(opts.since);
  const r = await requeueFailed(pool, { endpointId: opts.endpoint ?? null, since });
  // A named endpoint that a 410 disabled is taken back into service: the operator asked for it.
  const endpoints = new Set(r.endpoints);
  if (opts.endpoint) {
    await enableEndpoint(pool, opts.endpoint);
    endpoints.add(opts.endpoint);
  }
  let woken = true;
  try {
    const temporal = await ctx.temporalChecked();
    for (const id of endpoints) await wakeNotificationEndpoint(temporal, id, 10_000);
  } catch {
    woken = false;
  }
  if (opts.json) writeJson(ctx.out, { requeued: r.requeued, endpoints: [...endpoints], woken });
  else {
    ctx.out.write(
      r.requeued === 0
        ? 'No failed message to send again.\n'
        : `${r.requeued} failed message(s) queued again, with the same webhook-id, in seq order per account.\n`,
    );
    if (!woken)
      ctx.out.write('Temporal did not answer: the running service sends them once it is back.\n');
  }
  return EXIT.OK;
}

export function registerNotificationCommands(program: Command, run: Runner): void {
  const group = program
    .command('notifications')
    .description('notifications to the host app: endpoints, their health, failed messages');
  for (const [name, description, action] of [
    ['list', 'each endpoint with its queue, and the messages that ran out of retries', list],
    [
      'retry',
      'send failed messages again (and take a disabled --endpoint back into service)',
      retry,
    ],
  ] as const)
    group
      .command(name)
      .description(description)
      .option('--endpoint <id>', 'one endpoint only')
      .option(
        '--since <time>',
        'messages that failed since then: an ISO time or an age (30m, 24h, 7d)',
      )
      .option('--json', 'machine-readable output')
      .action((opts: Opts) => run((ctx) => action(ctx, opts)));
}
