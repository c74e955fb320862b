// Scale scenario: what-if over the rebuild's generated events, against rebuild-projection over
// the same events in the same run. Each runs in a process of its own (bench/fold-process.ts), so
// its peak memory is its own.
import { execFile } from 'node:child_process';
import path from 'node:path';

import type { Figure } from '../figure';

interface FoldRun {
  events: number;
  seconds: number;
  threads: number;
  max_rss_mb: number;
  changed?: number;
}

function foldProcess(mode: 'rebuild' | 'what-if', url: string): Promise<FoldRun> {
  const script = path.join(__dirname, '..', 'fold-process.ts');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), script, mode, url],
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${mode} process failed: ${stderr.trim() || err.message}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as FoldRun);
      },
    );
  });
}

export async function whatIfScenario(url: string): Promise<Figure> {
  const rebuild = await foldProcess('rebuild', url);
  const whatIf = await foldProcess('what-if', url);
  if (whatIf.events !== rebuild.events) {
    throw new Error(`what-if folded ${whatIf.events} events, the rebuild ${rebuild.events}`);
  }
  return {
    value: whatIf.events / whatIf.seconds,
    baseline: rebuild.events / rebuild.seconds,
    unit: 'events/s folded under the proposal and compared',
    extra: {
      events: whatIf.events,
      threads: whatIf.threads,
      seconds: whatIf.seconds,
      rebuild_seconds: rebuild.seconds,
      max_rss_mb: whatIf.max_rss_mb,
      rebuild_max_rss_mb: rebuild.max_rss_mb,
      accounts_changed: whatIf.changed ?? 0,
    },
  };
}
