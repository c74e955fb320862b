// Acknowledgements at a given concurrency over 1,000 accounts: the service against the classic
// design, each taking the same number of signed webhooks.
import { type Figure, latencies } from '../figure';
import { webhooks } from '../load-plan';

export interface AckRun {
  classicUrl: string;
  /** The service's Stripe webhook URL. */
  url: string;
  tag: string;
  requests: number;
  concurrency: number;
  /** Told the classic design's rate, which other scenarios use as their baseline. */
  onBaseline?: (perSecond: number) => void;
}

export async function acknowledgements(run: AckRun): Promise<Figure> {
  const { classicUrl, url, tag, requests, concurrency: c } = run;
  const job = (to: string, prefix: string) => webhooks(to, { prefix, modulo: 1000 }, requests, c);
  const base = await job(`${classicUrl}/webhooks/stripe`, `c${tag}_${c}_`);
  run.onBaseline?.(base.perSecond);
  const ours = await job(url, `a${tag}_${c}_`);
  return {
    value: ours.perSecond,
    baseline: base.perSecond,
    unit: 'acks/s',
    extra: latencies(ours, base),
  };
}
