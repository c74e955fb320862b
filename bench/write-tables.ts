// Writes the result tables of docs/bench-history.md from `npm run bench` JSON files (the newest in
// bench/results/ unless some are named; several of one mode and size are combined run by run):
// median and spread over the runs, each as a ratio to its baseline from the same run. Usage:
// npm run bench:tables [-- bench/results/<file>.json[:except=<figure>,…] ...] [--print]
// (:except= leaves those figures of that file out, e.g. when a later change measured them again;
// --print: show the tables instead of writing docs/bench-history.md).
import fs from 'node:fs';
import path from 'node:path';

import type { Figure } from './figure';

interface Result {
  mode: string;
  started_at: string;
  minutes: number;
  machine: {
    cores: number;
    cpu: string;
    node: string;
    load_before: number[];
    load_after: number[];
  };
  sizes: Record<string, number>;
  commit?: string;
  scenarios?: string[];
  settings?: Record<string, string>;
  rebuild_setup?: Record<string, number>;
  runs: Record<string, Figure>[];
}

const LABELS: Record<string, [string, string]> = {
  ack_c1: ['acknowledgements, concurrency 1', 'classic webhook, concurrency 1'],
  ack_c16: ['acknowledgements, concurrency 16', 'classic webhook, concurrency 16'],
  ack_c64: ['acknowledgements, concurrency 64', 'classic webhook, concurrency 64'],
  ack_c16_api_only: [
    'acknowledgements, concurrency 16, API alone (`--role=api`)',
    'classic, concurrency 16 (all on the box)',
  ],
  ack_c16_two_processes: [
    'acknowledgements, concurrency 16, all on the box as two processes (`--role=api` + `--role=worker`)',
    'classic, concurrency 16, the same load just before',
  ],
  e2e_50_busy: [
    'sustained end-to-end, 50 busy accounts',
    'classic acknowledgements (applied at commit)',
  ],
  e2e_1000_distinct: [
    'sustained end-to-end, 1,000 distinct accounts',
    'classic acknowledgements (applied at commit)',
  ],
  backlog_drain: ['backlog drain (events/s)', 'classic acknowledgements, concurrency 16'],
  gate_c1: ['gate `GET /v1/gate`, concurrency 1', 'bare primary-key SELECT behind express'],
  gate_c16: ['gate `GET /v1/gate`, concurrency 16', 'bare primary-key SELECT behind express'],
  registered_accounts: [
    'registered accounts (`POST /v1/accounts`, concurrency 16, until applied)',
    'classic acknowledgements, concurrency 16',
  ],
  renewal_burst: [
    'renewal-day burst (3 events per account, concurrency 16, until applied)',
    'classic design taking the same burst',
  ],
  rate_25pct: ['fixed rate: a quarter of the classic rate, 1,000 accounts', 'events/s offered'],
  rate_50pct: ['fixed rate: half the classic rate, 1,000 accounts', 'events/s offered'],
  rebuild: [
    '`rebuild-projection` (fold and compare every row)',
    'bare keyset scan of the same rows, no fold',
  ],
  what_if: [
    '`what-if --set PAST_DUE_GRACE=7d --set GATED_ACTIONS=confirm,export` (fold both ways, compare)',
    '`rebuild-projection` over the same events, just before',
  ],
};

/** Extra measurements shown per figure, with their headings. */
const DETAILS: [string, string][] = [
  ['worst_staleness_s', 'worst staleness s'],
  ['p50_staleness_s', 'p50 staleness s'],
  ['events_per_wakeup', 'events per wake-up'],
  ['gate_probes', 'gate probes, each right after a 200'],
  ['gate_probes_stale', 'gate probes answered from before the acknowledged event'],
  ['gate_probes_folded', 'gate probes that folded events not yet applied'],
  ['gate_probe_p50_ms', 'gate probe p50 ms'],
  ['gate_probe_p99_ms', 'gate probe p99 ms'],
  ['pending_end', 'pending at end'],
  ['pending_growth_per_s_second_half', 'backlog growth events/s (2nd half)'],
  ['drain_seconds_after', 'drain s after load'],
  ['floor_per_second', 'HTTP floor (answer from memory behind express) answers/s'],
  ['floor_p50_ms', 'HTTP floor p50 ms'],
  ['floor_p99_ms', 'HTTP floor p99 ms'],
  ['seconds', 'seconds'],
  ['rebuild_seconds', 'rebuild seconds'],
  ['max_rss_mb', 'peak RSS MB (process and threads)'],
  ['rebuild_max_rss_mb', 'rebuild peak RSS MB'],
  ['accounts_changed', 'account answers changed'],
  ['accounts', 'accounts'],
  ['events', 'events'],
  ['db_mb_added', 'PostgreSQL MB added'],
  ['temporal_db_mb_added', 'Temporal SQLite MB added'],
  ['node_rss_mb', 'service process RSS MB'],
  ['temporal_rss_mb', 'Temporal server RSS MB'],
];

const CPU: [string, string][] = [
  ['cpu_node', 'bench process (node)'],
  ['cpu_load', 'load generator (its own process)'],
  ['cpu_temporal', 'Temporal dev server'],
  ['cpu_postgres', 'PostgreSQL'],
  ['cpu_other', 'other work on the machine'],
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const spread = (xs: number[], d = 2) => `${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}`;

/** One result file's line: when, how long, which commit, which scenarios, how loaded the box was. */
function describe(file: string, r: Result, except: string[] = []): string {
  const left = except.length ? `; left out here: ${except.join(', ')}` : '';
  const settings =
    r.settings && Object.keys(r.settings).length ? `; settings ${JSON.stringify(r.settings)}` : '';
  const rebuild = r.rebuild_setup ? `; rebuild data ${JSON.stringify(r.rebuild_setup)}` : '';
  return `\`${file}\`: commit ${r.commit ?? 'not recorded'}, started ${r.started_at}, ${fmt(r.minutes, 1)} minutes, ${r.runs.length} run${r.runs.length === 1 ? '' : 's'} of ${(r.scenarios ?? ['every scenario']).join(', ')}; load average (1/5/15 min) before ${r.machine.load_before.join(' / ')}, after ${r.machine.load_after.join(' / ')}${settings}${rebuild}${left}`;
}

/**
 * Several result files of one mode and one set of sizes as one: their runs side by side, so a
 * figure measured in separate invocations (the full mode's registrations take half an hour a run)
 * still gets its median and spread. Refuses files that measured different things.
 */
export function combine(
  sources: { file: string; result: Result; except?: string[] }[],
): Result & { header: string } {
  const first = sources[0]?.result;
  if (!first) throw new Error('Name at least one result file.');
  const sizes = (r: Result) => JSON.stringify({ ...r.sizes, runs: 0 });
  for (const { file, result } of sources) {
    if (
      result.mode !== first.mode ||
      sizes(result) !== sizes(first) ||
      result.machine.cores !== first.machine.cores
    )
      throw new Error(
        `${file} measured mode ${result.mode} with sizes ${sizes(result)} on ${result.machine.cores} cores, unlike the first file (mode ${first.mode}, ${sizes(first)}, ${first.machine.cores} cores); combine only results of one mode and size.`,
      );
  }
  const without = (run: Record<string, Figure>, except: string[]) =>
    Object.fromEntries(Object.entries(run).filter(([name]) => !except.includes(name)));
  const runs = sources
    .flatMap(({ result, except = [] }) => result.runs.map((run) => without(run, except)))
    .filter((run) => Object.keys(run).length > 0);
  const header =
    sources.length === 1
      ? `From ${describe(sources[0]?.file ?? '', first)}. ${first.machine.cores} cores (${first.machine.cpu}), Node ${first.machine.node}; sizes ${JSON.stringify(first.sizes)}.`
      : [
          `From ${sources.length} result files, mode \`${first.mode}\`, on ${first.machine.cores} cores (${first.machine.cpu}), Node ${first.machine.node}; sizes ${JSON.stringify({ ...first.sizes, runs: undefined })}; each figure's median and spread are over every run that measured it (the runs column):`,
          '',
          ...sources.map(({ file, result, except }) => `- ${describe(file, result, except)}.`),
        ].join('\n');
  return { ...first, runs, header };
}

export function tables(r: Result & { header: string }): string {
  const names = [...new Set(r.runs.flatMap((run) => Object.keys(run)))];
  const lines = [
    r.header,
    '',
    '| figure | runs | median | spread | unit | baseline (median) | ratio median | ratio spread |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const name of names) {
    const figs = r.runs.map((run) => run[name]).filter((f): f is Figure => f !== undefined);
    const ratios = figs.map((f) => f.value / f.baseline);
    const [label, named] = LABELS[name] ?? [name, 'baseline'];
    const bases = new Set(figs.map((f) => f.baseline_label ?? named));
    if (bases.size > 1)
      throw new Error(
        `The runs measured ${label} against different baselines (${[...bases].join('; ')}); combine only results of one version of the bench for it.`,
      );
    const base = [...bases][0] ?? named;
    lines.push(
      `| ${label} | ${figs.length} | ${fmt(median(figs.map((f) => f.value)), 0)} | ${spread(
        figs.map((f) => f.value),
        0,
      )} | ${figs[0]?.unit ?? ''} | ${fmt(median(figs.map((f) => f.baseline)), 0)} (${base}) | ${fmt(median(ratios))}× | ${spread(ratios)}× |`,
    );
  }
  const withLatency = names.filter((n) =>
    r.runs.some((run) => run[n]?.extra?.p99_ms !== undefined),
  );
  if (withLatency.length > 0) {
    lines.push(
      '',
      '| figure | p50 ms (median) | p99 ms (median, spread) | baseline p99 ms (median) |',
      '| --- | --- | --- | --- |',
    );
  }
  for (const name of withLatency) {
    const figs = r.runs
      .map((run) => run[name])
      .filter((f): f is Figure => f?.extra?.p99_ms !== undefined);
    if (figs.length === 0) continue;
    const p99 = figs.map((f) => f.extra?.p99_ms ?? NaN);
    lines.push(
      `| ${LABELS[name]?.[0] ?? name} | ${fmt(median(figs.map((f) => f.extra?.p50_ms ?? NaN)))} | ${fmt(median(p99))} (${spread(p99)}) | ${fmt(median(figs.map((f) => f.extra?.baseline_p99_ms ?? NaN)))} |`,
    );
  }
  lines.push(...detailTables(r, names));
  return lines.join('\n');
}

function medianOf(r: Result, name: string, key: string): number {
  const xs = r.runs
    .map((run) => run[name]?.extra?.[key])
    .filter((x): x is number => typeof x === 'number');
  return xs.length ? median(xs) : NaN;
}

/** Per-figure details (staleness, wake-ups, sizes) and which process used the CPU. */
function detailTables(r: Result, names: string[]): string[] {
  const lines: string[] = [];
  const detailed = names.filter((n) => DETAILS.some(([k]) => !Number.isNaN(medianOf(r, n, k))));
  if (detailed.length > 0) {
    lines.push('', '| figure | measurement | median |', '| --- | --- | --- |');
    for (const name of detailed) {
      for (const [key, heading] of DETAILS) {
        const m = medianOf(r, name, key);
        if (!Number.isNaN(m))
          lines.push(`| ${LABELS[name]?.[0] ?? name} | ${heading} | ${fmt(m)} |`);
      }
    }
  }
  const withCpu = names.filter((n) => !Number.isNaN(medianOf(r, n, 'cpu_node')));
  if (withCpu.length > 0) {
    lines.push(
      '',
      `Share of the machine's CPU (${r.machine.cores} cores = 100 %) during each figure, median over the runs:`,
      '',
      `| figure | ${CPU.map(([, h]) => h).join(' | ')} |`,
      `| --- | ${CPU.map(() => '---').join(' | ')} |`,
    );
    for (const name of withCpu) {
      const cells = CPU.map(([k]) => {
        const m = medianOf(r, name, k);
        return Number.isNaN(m) ? '—' : `${fmt(m * 100, 0)} %`;
      });
      lines.push(`| ${LABELS[name]?.[0] ?? name} | ${cells.join(' | ')} |`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const dir = path.join(__dirname, 'results');
  const print = process.argv.includes('--print');
  const named = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const newest = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .at(-1);
  const files = named.length > 0 ? named : [path.join(dir, newest ?? '')];
  const root = path.join(__dirname, '..');
  const result = combine(
    files.map((arg) => {
      const [file = '', except] = arg.split(':except=');
      return {
        file: path.relative(root, path.resolve(file)),
        result: JSON.parse(fs.readFileSync(file, 'utf8')) as Result,
        ...(except ? { except: except.split(',') } : {}),
      };
    }),
  );
  if (print) {
    process.stdout.write(`${tables(result)}\n`);
    return;
  }
  const doc = path.join(__dirname, '..', 'docs', 'bench-history.md');
  const text = fs.readFileSync(doc, 'utf8');
  const begin = '<!-- bench:tables:begin -->';
  const end = '<!-- bench:tables:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i)
    throw new Error(`docs/bench-history.md has no ${begin} … ${end} section to fill.`);
  const filled = `${text.slice(0, i + begin.length)}\n\n${tables(result)}\n\n${text.slice(j)}`;
  // Written as the format check (`npm run check:static`) wants it: tables aligned by prettier.
  // Loaded here, not at the top: prettier loads itself by dynamic import, which jest's VM refuses.
  const { default: prettier } = await import('prettier');
  const options = (await prettier.resolveConfig(doc)) ?? {};
  fs.writeFileSync(doc, await prettier.format(filled, { ...options, filepath: doc }));
  process.stdout.write(`docs/bench-history.md tables written from ${files.join(', ')}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `bench:tables failed: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(1);
  });
}
