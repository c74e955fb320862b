// Scale scenario: many accounts registered through the API (time, database and Temporal size,
// memory).
import { performance } from 'node:perf_hooks';

import { databaseMb, type Figure, MB, rssMb, sqliteMb } from '../figure';
import { ADMIN, drained, load } from '../load';
import type { ScaleContext } from './context';

/** `n` accounts registered through POST /v1/accounts at concurrency 16, until all are applied. */
export async function registeredAccounts(ctx: ScaleContext, n: number): Promise<Figure> {
  const prefix = `g${ctx.tag}_`;
  const before = {
    db: await databaseMb(ctx.pool),
    temporal: sqliteMb(ctx.temporalDbFile),
    rss: process.memoryUsage().rss / MB,
  };
  const t0 = performance.now();
  await load(n, 16, async (i) => {
    const res = await fetch(`${ctx.apiUrl}/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ account_id: `${prefix}${i}`, trial_days: 14 }),
    });
    if (res.status !== 201) throw new Error(`POST /v1/accounts answered ${res.status}`);
    await res.arrayBuffer();
  });
  await drained(ctx.pool, prefix);
  const seconds = (performance.now() - t0) / 1000;
  const rss = process.memoryUsage().rss / MB;
  return {
    value: n / seconds,
    baseline: await ctx.classic16(),
    unit: 'accounts/s registered',
    extra: {
      accounts: n,
      seconds,
      db_mb_added: (await databaseMb(ctx.pool)) - before.db,
      temporal_db_mb_added: sqliteMb(ctx.temporalDbFile) - before.temporal,
      temporal_db_mb: sqliteMb(ctx.temporalDbFile),
      node_rss_mb: Math.round(rss),
      node_rss_mb_added: Math.round(rss - before.rss),
      temporal_rss_mb: rssMb(ctx.temporalPid()),
    },
  };
}
