// Sustained end-to-end: from the first request until every acknowledged event is applied, over a
// few busy accounts or many distinct ones.
import { performance } from 'node:perf_hooks';

import type pg from 'pg';

import type { Figure } from '../figure';
import { drained, load, post } from '../load';

export interface EndToEndRun {
  pool: pg.Pool;
  classicUrl: string;
  /** The service's Stripe webhook URL. */
  url: string;
  tag: string;
  events: number;
  accounts: number;
}

export async function endToEnd(run: EndToEndRun): Promise<Figure> {
  const { pool, classicUrl, url, tag, events, accounts } = run;
  const prefix = `e${tag}_${accounts}_`;
  const base = await load(events, 16, (i) =>
    post(`${classicUrl}/webhooks/stripe`, `${prefix}c${i % accounts}`),
  );
  const t0 = performance.now();
  await load(events, 16, (i) => post(url, `${prefix}${i % accounts}`));
  await drained(pool, prefix);
  const perSecond = events / ((performance.now() - t0) / 1000);
  return { value: perSecond, baseline: base.perSecond, unit: 'events/s applied' };
}
