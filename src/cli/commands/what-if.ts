// what-if (SPEC §7): what a policy change would do to real customers, before anyone makes it.
import type { Command } from 'commander';

import { loadGatedActions } from '../../config';
import { AppError } from '../../domain/errors';
import { parseAtTime, parsePolicySettings, POLICY_KEYS } from '../../domain/policy';
import { defaultRebuildThreads } from '../../ops/rebuild';
import { whatIf, type WhatIfExample, type WhatIfResult } from '../../ops/what-if';
import type { Answer } from '../../ops/what-if-fold';
import { type WhatIfTimeline, whatIfTimeline } from '../../ops/what-if-timeline';
import type { CliContext } from '../context';
import { EXIT, progressReporter, writeJson, writeTable } from '../output';
import type { Runner } from '../run';

interface WhatIfOpts {
  set?: string[];
  at?: string;
  account?: string;
  json?: boolean;
  examples: string;
  threads: string;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function wholeNumber(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new AppError(
      'invalid_option',
      `${name} takes a whole number from ${min} to ${max}; got "${raw}".`,
    );
  return n;
}

function parseAt(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const r = parseAtTime(raw);
  if ('error' in r) throw new AppError('invalid_at', r.error);
  return r.at;
}

/** Everything the command was given, checked before any connection: each problem is one line. */
function parseOptions(opts: WhatIfOpts) {
  const pairs = opts.set ?? [];
  const { settings, errors } = parsePolicySettings(pairs);
  if (errors.length > 0) throw new AppError('invalid_setting', errors.join('\n'));
  return {
    settings,
    proposed: pairs.map((s) => s.trim()),
    at: parseAt(opts.at),
    examples: wholeNumber('--examples', opts.examples, 0, 100),
    threads: wholeNumber('--threads', opts.threads, 1, 64),
    gatedNow: loadGatedActions(),
  };
}

function gateText(a: Answer, action: string): string {
  const g = a.gate[action];
  return g ? `${g.allowed ? 'allowed' : 'denied'} (${g.reason})` : '-';
}

function eventText(e: WhatIfExample['event']): string {
  if (e === null) return '-';
  return [e.event, e.event_type, e.occurred_at].filter((x) => x !== null).join(' ');
}

function writeResult(out: NodeJS.WritableStream, r: WhatIfResult): void {
  out.write(`Status (now → would be), ${r.accounts} accounts at ${r.at}:\n`);
  writeTable(
    out,
    ['  now', 'would be', 'accounts'],
    r.statuses.map((s) => [`  ${s.now}`, s.would, s.accounts]),
  );
  const statusExamples = r.statuses.flatMap((s) =>
    s.examples.map((e) => [`  ${s.now} → ${s.would}`, e.account_id, eventText(e.event)]),
  );
  if (statusExamples.length > 0) {
    out.write('\nAccounts whose status would change, and the event that makes the difference:\n');
    writeTable(out, ['  change', 'account', 'event'], statusExamples);
  }
  out.write(
    `\nGate (allowed now → would be); gated now: ${r.gated_actions.now.join(',') || '-'}, would be: ${r.gated_actions.would.join(',') || '-'}:\n`,
  );
  writeTable(
    out,
    ['  action', 'now', 'would be', 'accounts'],
    r.gate.map((g) => [`  ${g.action}`, g.now, g.would, g.accounts]),
  );
  const gateExamples = r.gate.flatMap((g) =>
    g.examples.map((e) => [
      `  ${g.action}`,
      e.account_id,
      `${e.now.status} ${gateText(e.now, g.action)}`,
      `${e.would.status} ${gateText(e.would, g.action)}`,
      eventText(e.event),
    ]),
  );
  if (gateExamples.length > 0) {
    out.write('\nAccounts whose gate answer would change:\n');
    writeTable(out, ['  action', 'account', 'now', 'would be', 'event'], gateExamples);
  }
  out.write(`\n${r.summary}\n`);
}

function writeTimeline(out: NodeJS.WritableStream, t: WhatIfTimeline): void {
  const sideText = (s: { outcome: string; status: string | null } | null) =>
    s === null ? '-' : s.outcome === 'applied' ? (s.status ?? '-') : `${s.status} (${s.outcome})`;
  writeTable(
    out,
    ['occurred_at', 'event', 'type', 'object', 'status now', 'would be', 'differs'],
    t.rows.map((r) => [
      r.occurred_at,
      r.event,
      r.event_type,
      r.object,
      sideText(r.now),
      sideText(r.would),
      r.differs ? '≠' : '',
    ]),
  );
  if (t.now && t.would) {
    out.write(`\nGate at ${t.at}:\n`);
    writeTable(
      out,
      ['  action', 'now', 'would be'],
      Object.keys(t.now.gate).map((a) => [
        `  ${a}`,
        gateText(t.now as Answer, a),
        gateText(t.would as Answer, a),
      ]),
    );
  }
  out.write(`\n${t.summary}\n`);
}

async function run(ctx: CliContext, raw: WhatIfOpts): Promise<number> {
  const o = parseOptions(raw);
  const db = await ctx.db();
  if (raw.account !== undefined) {
    const t = await whatIfTimeline(db, raw.account, o);
    if (raw.json) writeJson(ctx.out, t);
    else writeTimeline(ctx.out, t);
    return EXIT.OK;
  }
  const result = await whatIf(db, {
    ...o,
    onProgress: progressReporter(ctx.err, 'what-if'),
    parallel: { databaseUrl: ctx.settings().databaseUrl, threads: o.threads },
  });
  if (raw.json) writeJson(ctx.out, result);
  else writeResult(ctx.out, result);
  return EXIT.OK;
}

export function registerWhatIfCommands(program: Command, runner: Runner): void {
  program
    .command('what-if')
    .description(
      'what a policy change would do to every account, before making it: replays the recorded events under the proposed settings and writes nothing',
    )
    .option(
      '--set <KEY=VALUE>',
      `a proposed setting (repeat for several): ${POLICY_KEYS.join(', ')}`,
      collect,
    )
    .option(
      '--at <ISO time>',
      'answer as of that time, from the log as it stood then (the audit trail’s answer)',
    )
    .option(
      '--account <id>',
      "one account's derivation timeline, today's and proposed side by side",
    )
    .option('--examples <n>', 'example accounts per change', '5')
    .option(
      '--threads <n>',
      'fold on n worker threads, as rebuild-projection (default: one per core, at most 4)',
      String(defaultRebuildThreads()),
    )
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Proposed settings apply as if in force for the whole history. The live service stamps
PAST_DUE_GRACE on each payment failure and subscription snapshot, and DEFAULT_TRIAL_DAYS on each
registration, when they are stored, so changing them live changes only what is stored afterwards;
what-if shows the accounts the policy is about — every failure and snapshot with the proposed
grace, every registration that took the default trial with the proposed trial. GATED_ACTIONS is compared with the one in force
(the environment's, default confirm). Gate overrides are left out: they expire by themselves.

Without --at both sides answer now and honour passed deadlines as the gate does. With --at,
today's side is the log as it stood then (the events applied by that time, timers included):
exactly the audit trail's answer; the proposed side also honours the deadlines a proposed
PAST_DUE_GRACE or DEFAULT_TRIAL_DAYS moves, since no timer of its own was recorded.

Every read runs in a READ ONLY transaction: nothing is written, and Temporal is not contacted.
Exit code 0 with a one-line summary last; 2 for a bad option (one line per problem).

  npm run ops -- what-if --set PAST_DUE_GRACE=7d
  npm run ops -- what-if --set GATED_ACTIONS=confirm,export --json
  npm run ops -- what-if --at 2026-11-03T14:00:00Z --account acct_42`,
    )
    .action((opts: WhatIfOpts) => runner((ctx) => run(ctx, opts)));
}
