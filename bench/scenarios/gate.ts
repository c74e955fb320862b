// The gate at concurrency 1 and 16 against a bare primary-key SELECT behind the same HTTP stack.
// At concurrency 1 the latency is the cost of one answer; at 16 it adds queueing in one process.
import type pg from 'pg';

import type { Running } from '../../src/runtime';
import type { Figure } from '../figure';
import { ADMIN, drained, load, post } from '../load';

/** Accounts with a projection row for the gate when the e2e scenario made none: 50 made here. */
export async function seedGateAccounts(
  all: Running,
  classicUrl: string,
  tag: string,
  pool: pg.Pool,
): Promise<void> {
  await load(50, 16, (i) => post(`${all.info.apiUrl}/webhooks/stripe`, `e${tag}_50_${i}`));
  await load(50, 16, (i) => post(`${classicUrl}/webhooks/stripe`, `e${tag}_50_c${i}`));
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
  const gateBase = await load(n, concurrency, (i) =>
    fetch(`${classicUrl}/gate/e${tag}_50_c${i % 50}`).then(answered200),
  );
  const gate = await load(n, concurrency, (i) =>
    fetch(`${all.info.apiUrl}/v1/gate/e${tag}_50_${i % 50}/confirm`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    }).then(answered200),
  );
  return {
    value: gate.perSecond,
    baseline: gateBase.perSecond,
    unit: 'answers/s',
    extra: {
      p50_ms: gate.p50,
      p99_ms: gate.p99,
      baseline_p50_ms: gateBase.p50,
      baseline_p99_ms: gateBase.p99,
    },
  };
}

/** Every answer counted must be a real answer, not a refusal (a 429 is cheap and fast). */
async function answered200(res: Response): Promise<void> {
  const body = await res.arrayBuffer();
  if (res.status !== 200) {
    throw new Error(`${res.url} answered ${res.status}: ${Buffer.from(body).toString('utf8')}`);
  }
}
