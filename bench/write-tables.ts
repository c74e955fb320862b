// Writes BENCHMARKS.md's result tables from a `npm run bench` JSON file (the newest in
// bench/results/ unless one is named): median and spread over the runs, each as a ratio to its
// baseline from the same run. Usage: npm run bench:tables [-- bench/results/<file>.json]
import fs from 'node:fs';
import path from 'node:path';

interface Figure {
  value: number;
  baseline: number;
  unit: string;
  extra?: Record<string, number>;
}
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
  e2e_50_busy: [
    'sustained end-to-end, 50 busy accounts',
    'classic acknowledgements (applied at commit)',
  ],
  e2e_1000_distinct: [
    'sustained end-to-end, 1,000 distinct accounts',
    'classic acknowledgements (applied at commit)',
  ],
  backlog_drain: ['backlog drain (events/s)', 'classic acknowledgements, concurrency 16'],
  gate_c16: ['gate `GET /v1/gate`, concurrency 16', 'bare primary-key SELECT behind express'],
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const spread = (xs: number[], d = 2) => `${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}`;

export function tables(r: Result): string {
  const names = Object.keys(r.runs[0] ?? {});
  const lines = [
    `Mode \`${r.mode}\`, started ${r.started_at}, ${fmt(r.minutes, 1)} minutes; ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}; load average (1/5/15 min) before ${r.machine.load_before.join(' / ')}, after ${r.machine.load_after.join(' / ')}; ${r.runs.length} runs; sizes ${JSON.stringify(r.sizes)}.`,
    '',
    '| figure | median | spread | unit | baseline (median) | ratio median | ratio spread |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const name of names) {
    const figs = r.runs.map((run) => run[name]).filter((f): f is Figure => f !== undefined);
    const ratios = figs.map((f) => f.value / f.baseline);
    const [label, base] = LABELS[name] ?? [name, 'baseline'];
    lines.push(
      `| ${label} | ${fmt(median(figs.map((f) => f.value)), 0)} | ${spread(
        figs.map((f) => f.value),
        0,
      )} | ${figs[0]?.unit ?? ''} | ${fmt(median(figs.map((f) => f.baseline)), 0)} (${base}) | ${fmt(median(ratios))}× | ${spread(ratios)}× |`,
    );
  }
  lines.push(
    '',
    '| figure | p50 ms (median) | p99 ms (median, spread) | baseline p99 ms (median) |',
    '| --- | --- | --- | --- |',
  );
  for (const name of names) {
    const figs = r.runs
      .map((run) => run[name])
      .filter((f): f is Figure => f?.extra?.p99_ms !== undefined);
    if (figs.length === 0) continue;
    const p99 = figs.map((f) => f.extra?.p99_ms ?? NaN);
    lines.push(
      `| ${LABELS[name]?.[0] ?? name} | ${fmt(median(figs.map((f) => f.extra?.p50_ms ?? NaN)))} | ${fmt(median(p99))} (${spread(p99)}) | ${fmt(median(figs.map((f) => f.extra?.baseline_p99_ms ?? NaN)))} |`,
    );
  }
  return lines.join('\n');
}

function main(): void {
  const dir = path.join(__dirname, 'results');
  const file =
    process.argv[2] ??
    path.join(
      dir,
      fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .at(-1) ?? '',
    );
  const result = JSON.parse(fs.readFileSync(file, 'utf8')) as Result;
  const doc = path.join(__dirname, '..', 'BENCHMARKS.md');
  const text = fs.readFileSync(doc, 'utf8');
  const begin = '<!-- bench:tables:begin -->';
  const end = '<!-- bench:tables:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`BENCHMARKS.md has no ${begin} … ${end} section to fill.`);
  const source = `From \`${path.relative(path.join(__dirname, '..'), file)}\`.`;
  fs.writeFileSync(
    doc,
    `${text.slice(0, i + begin.length)}\n\n${source} ${tables(result)}\n\n${text.slice(j)}`,
  );
  process.stdout.write(`BENCHMARKS.md tables written from ${file}\n`);
}

main();
