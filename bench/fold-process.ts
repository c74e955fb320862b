// One fold over the rebuild's database in a process of its own, for the what-if scenario: the
// rebuild (compare only) or a what-if, on the default threads, timed inside; prints one JSON line
// with the events, the seconds and the process's peak memory (maxRSS counts its threads too).
import { performance } from 'node:perf_hooks';

import pg from 'pg';

import { parsePolicySettings } from '../src/domain/policy';
import { defaultRebuildThreads, rebuildProjection } from '../src/ops/rebuild';
import { whatIf } from '../src/ops/what-if';

/** The proposal measured: a longer grace changes every account with a failed payment. */
export const WHAT_IF_PROPOSAL = ['PAST_DUE_GRACE=7d', 'GATED_ACTIONS=confirm,export'];

async function main(mode: string, url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const threads = defaultRebuildThreads();
  const parallel = { databaseUrl: url, threads };
  try {
    const t0 = performance.now();
    let events: number;
    let changed: number | undefined;
    if (mode === 'rebuild') {
      const r = await rebuildProjection(pool, { apply: false, parallel });
      if (!r.ok) throw new Error('the rebuild did not reproduce the projection');
      events = r.events;
    } else {
      const { settings } = parsePolicySettings(WHAT_IF_PROPOSAL);
      const r = await whatIf(pool, {
        settings,
        proposed: WHAT_IF_PROPOSAL,
        gatedNow: ['confirm'],
        parallel,
      });
      events = r.events;
      changed = Object.values(r.changed.gate).reduce((n, x) => n + x, r.changed.status);
    }
    const seconds = (performance.now() - t0) / 1000;
    const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    process.stdout.write(
      `${JSON.stringify({ events, seconds, threads, max_rss_mb: maxRssMb, changed })}\n`,
    );
  } finally {
    await pool.end();
  }
}

if (require.main === module) void main(process.argv[2] ?? '', process.argv[3] ?? '');
