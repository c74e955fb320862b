// The tables of docs/bench-temporal-server.md from `npm run bench -- --temporal=server` results:
// per figure, the dev server's and the self-hosted server's ratio to the classic baseline of the
// same run (median and min–max over the runs), and which process used the CPU meanwhile (median
// shares of the machine). Files of one shard count are combined run by run. Usage:
// npm run bench:server-tables -- bench/results/<file>.json ...   (prints Markdown)
import fs from 'node:fs';

import type { Figure } from './figure';

interface ServerResult {
  mode: string;
  started_at: string;
  machine: { cores: number; load_before: number[] };
  temporal_server?: { version: string; shards: number };
  runs: Record<string, Figure>[];
  server_runs?: Record<string, Figure>[];
}

const CPU_GROUPS: [string, string][] = [
  ['cpu_node', 'node'],
  ['cpu_load', 'load'],
  ['cpu_temporal', 'Temporal'],
  ['cpu_temporal_postgres', "Temporal's PG"],
  ['cpu_postgres', 'app PG'],
  ['cpu_other', 'other'],
];

/** Extra measurements worth a column, when the figure has them. */
const DETAILS: [string, string][] = [
  ['wakeups_per_s', 'wake-ups/s'],
  ['events_per_wakeup', 'events/wake-up'],
  ['worst_staleness_s', 'worst staleness s'],
  ['pending_growth_per_s_second_half', 'backlog growth/s'],
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
/** "0.52× (0.48–0.55)" over the runs. */
const spread = (xs: number[], digits = 2, unit = '×') =>
  xs.length === 0
    ? '–'
    : `${fixed(median(xs), digits)}${unit} (${fixed(Math.min(...xs), digits)}–${fixed(Math.max(...xs), digits)})`;

function ratios(runs: Record<string, Figure>[], name: string): number[] {
  return runs.flatMap((r) => {
    const f = r[name];
    return f && f.baseline > 0 ? [f.value / f.baseline] : [];
  });
}

function extras(runs: Record<string, Figure>[], name: string, key: string): number[] {
  return runs.flatMap((r) => {
    const v = r[name]?.extra?.[key];
    return typeof v === 'number' ? [v] : [];
  });
}

/**
 * CPU milliseconds per unit of the figure (per event applied, per acknowledgement) of each group:
 * its share of the machine × cores ÷ the figure's rate. What each process spends per event.
 */
function cpuMsPer(runs: Record<string, Figure>[], name: string, key: string, cores: number) {
  return runs.flatMap((r) => {
    const f = r[name];
    const share = f?.extra?.[key];
    return f && typeof share === 'number' && f.value > 0 ? [(share * cores * 1000) / f.value] : [];
  });
}

function table(results: ServerResult[]): string {
  const dev = results.flatMap((r) => r.runs);
  const server = results.flatMap((r) => r.server_runs ?? []);
  const cores = results[0]?.machine.cores ?? 2;
  const names = [...new Set(server.flatMap((r) => Object.keys(r)))];
  const head = [
    'figure',
    'dev server ×classic',
    'Temporal server ×classic',
    ...DETAILS.map(([, h]) => `${h} dev / server`),
    `CPU shares on the server: ${CPU_GROUPS.map(([, h]) => h).join(' / ')}`,
    `CPU shares on the dev server: ${CPU_GROUPS.filter(([k]) => k !== 'cpu_temporal_postgres')
      .map(([, h]) => h)
      .join(' / ')}`,
    'CPU ms per unit, dev: node / Temporal',
    "CPU ms per unit, server: node / Temporal / Temporal's PG",
  ];
  const rows = names.map((name) => {
    const cpu = (runs: Record<string, Figure>[], keys: [string, string][]) =>
      keys.map(([k]) => fixed(median(extras(runs, name, k)), 2)).join(' / ');
    return [
      `\`${name}\``,
      spread(ratios(dev, name)),
      spread(ratios(server, name)),
      ...DETAILS.map(
        ([k]) =>
          `${fixed(median(extras(dev, name, k)), 1)} / ${fixed(median(extras(server, name, k)), 1)}`,
      ),
      cpu(server, CPU_GROUPS),
      cpu(
        dev,
        CPU_GROUPS.filter(([k]) => k !== 'cpu_temporal_postgres'),
      ),
      ['cpu_node', 'cpu_temporal']
        .map((k) => fixed(median(cpuMsPer(dev, name, k, cores)), 1))
        .join(' / '),
      ['cpu_node', 'cpu_temporal', 'cpu_temporal_postgres']
        .map((k) => fixed(median(cpuMsPer(server, name, k, cores)), 1))
        .join(' / '),
    ];
  });
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function main(): void {
  const files = process.argv.slice(2).filter((a) => a.endsWith('.json'));
  if (files.length === 0) {
    throw new Error(
      'name the result files: npm run bench:server-tables -- bench/results/<file>.json',
    );
  }
  const results = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as ServerResult);
  const byShards = new Map<number, ServerResult[]>();
  for (const r of results) {
    if (!r.temporal_server) throw new Error(`${r.started_at}: not a --temporal=server run`);
    const list = byShards.get(r.temporal_server.shards) ?? [];
    byShards.set(r.temporal_server.shards, [...list, r]);
  }
  for (const [shards, group] of [...byShards].sort(([a], [b]) => a - b)) {
    const runs = group.reduce((n, r) => n + (r.server_runs?.length ?? 0), 0);
    const version = group[0]?.temporal_server?.version ?? '';
    const loads = group.map((r) => r.machine.load_before[0]).join(', ');
    process.stdout.write(
      `\n### ${shards} history shard${shards === 1 ? '' : 's'} (Temporal ${version}; ${runs} runs, ` +
        `${group.map((r) => r.mode).join(', ')} mode; load before: ${loads})\n\n${table(group)}\n`,
    );
  }
}

main();
