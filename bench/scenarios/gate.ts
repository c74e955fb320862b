// The gate at concurrency 1 and 16 against a bare primary-key SELECT behind the same HTTP stack.
// At concurrency 1 the latency is the cost of one answer; at 16 it adds queueing in one process.
// The floor, an answer from memory behind the same express, is what no database query can beat.
import type pg from 'pg';

import type { Running } from '../../src/runtime';
import { type Figure, latencies } from '../figure';
import { drained } from '../load';
import { loadElsewhere, type Plan, webhooks } from '../load-plan';

/** Accounts with a projection row for the gate when the e2e scenario made none: 50 made here. */
export async function seedGateAccounts(
  all: Running,
  classicUrl: string,
  tag: string,
  pool: pg.Pool,
): Promise<void> {
  const seed = (url: string, prefix: string) => webhooks(`${url}/webhooks/stripe`, { prefix }, 50);
  await seed(all.info.apiUrl ?? '', `e${tag}_50_`);
  await seed(classicUrl, `e${tag}_50_c`);
  await drained(pool, `e${tag}_50_`);
}

/** `requests` gate answers (at most 1,000 at concurrency 1) from the service and from the classic design. */
export async function gateFigure(
  all: Running,
  classicUrl: string,
  tag: string,
  concurrency: number,
  requests: number,
): Promise<Figure> {
  const n = concurrency === 1 ? Math.min(requests, 1000) : requests;
  const gets = (plan: Extract<Plan, { kind: 'get' }>) =>
    loadElsewhere({ requests: n, pace: { concurrency }, plan });
  const gateBase = await gets({
    kind: 'get',
    url: `${classicUrl}/gate/`,
    accounts: { prefix: `e${tag}_50_c`, modulo: 50 },
  });
  const gate = await gets({
    kind: 'get',
    url: `${all.info.apiUrl}/v1/gate/`,
    accounts: { prefix: `e${tag}_50_`, modulo: 50 },
    suffix: '/confirm',
    gate: true,
  });
  // What any answer costs here: from memory behind the same express and generator, no database.
  const floor = await gets({
    kind: 'get',
    url: `${classicUrl}/floor/`,
    accounts: { prefix: `e${tag}_50_c`, modulo: 50 },
  });
  return {
    value: gate.perSecond,
    baseline: gateBase.perSecond,
    unit: 'answers/s',
    extra: {
      ...latencies(gate, gateBase),
      floor_per_second: floor.perSecond,
      floor_p50_ms: floor.p50,
      floor_p99_ms: floor.p99,
    },
  };
}
