// bench:tables combines result files of one mode and size run by run, so a figure measured in
// separate invocations still gets its median and spread, and refuses files that measured
// different things.
import { combine, tables } from '../../bench/write-tables';

type Result = Parameters<typeof combine>[0][number]['result'];

function result(runs: Result['runs'], sizes: Record<string, number> = { ack: 4000, runs: 1 }) {
  return {
    mode: 'full',
    commit: 'abc1234',
    started_at: '2026-12-01T00:00:00.000Z',
    minutes: 18,
    machine: { cores: 2, cpu: 'cpu', node: 'v20', load_before: [1, 1, 1], load_after: [2, 2, 2] },
    sizes,
    scenarios: ['ack'],
    runs,
  } satisfies Result;
}

const ack = (value: number, baseline: number) => ({
  ack_c16: { value, baseline, unit: 'acks/s' },
});

describe('bench:tables over several result files', () => {
  it('takes the median and spread over every run of every file', () => {
    const combined = combine([
      { file: 'a.json', result: result([ack(300, 600)]) },
      { file: 'b.json', result: result([ack(400, 500), ack(100, 400)], { ack: 4000, runs: 2 }) },
    ]);
    expect(combined.runs).toHaveLength(3);
    const row = tables(combined)
      .split('\n')
      .find((line) => line.startsWith('| acknowledgements, concurrency 16 |'));
    // Values 100/300/400 → median 300; ratios 0.25/0.5/0.8 → median 0.5; 3 runs.
    expect(row).toContain('| 3 | 300 | 100–400 | acks/s | 500 ');
    expect(row).toContain('| 0.50× | 0.25–0.80× |');
    expect(combined.header).toContain('`a.json`: commit abc1234');
    expect(combined.header).toContain('`b.json`');
  });

  it('counts a figure only over the runs that measured it', () => {
    const combined = combine([
      { file: 'a.json', result: result([ack(300, 600)]) },
      {
        file: 'b.json',
        result: result([{ registered_accounts: { value: 49, baseline: 500, unit: 'accounts/s' } }]),
      },
    ]);
    const lines = tables(combined).split('\n');
    expect(lines.find((l) => l.startsWith('| acknowledgements, concurrency 16 |'))).toContain(
      '| 1 | 300 |',
    );
    expect(lines.find((l) => l.startsWith('| registered accounts'))).toContain('| 1 | 49 |');
  });

  it('leaves out the figures a file is told to, and says so in its line', () => {
    const both = (value: number) => ({
      ...ack(value, 600),
      rebuild: { value, baseline: 100_000, unit: 'events/s' },
    });
    const combined = combine([
      { file: 'old.json', result: result([both(300)]), except: ['rebuild'] },
      {
        file: 'new.json',
        result: result([{ rebuild: { value: 40_000, baseline: 100_000, unit: 'events/s' } }]),
      },
    ]);
    const lines = tables(combined).split('\n');
    expect(lines.find((l) => l.startsWith('| acknowledgements, concurrency 16 |'))).toContain(
      '| 1 | 300 |',
    );
    expect(lines.find((l) => l.startsWith('| `rebuild-projection`'))).toContain('| 1 | 40000 |');
    expect(combined.header).toContain('`old.json`: commit abc1234');
    expect(combined.header).toContain('left out here: rebuild');
  });

  it('refuses files of different sizes with a sentence saying so', () => {
    expect(() =>
      combine([
        { file: 'a.json', result: result([ack(300, 600)]) },
        { file: 'q.json', result: result([ack(300, 600)], { ack: 600, runs: 1 }) },
      ]),
    ).toThrow(/q\.json measured mode full with sizes .*combine only results of one mode and size/);
  });

  it('refuses to take one median over runs measured against different baselines', () => {
    const paired = { ack_c16: { value: 300, baseline: 600, unit: 'acks/s', baseline_label: 'x' } };
    const combined = combine([
      { file: 'a.json', result: result([ack(300, 600)]) },
      { file: 'b.json', result: result([paired]) },
    ]);
    expect(() => tables(combined)).toThrow(
      /against different baselines .*one version of the bench/,
    );
    expect(tables(combine([{ file: 'b.json', result: result([paired]) }]))).toContain(
      '| 600 (x) |',
    );
  });
});
