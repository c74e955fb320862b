// What the load generator sends, as plain data, so it can run in a process of its own
// (load-process.ts): whose webhook or gate request number i is, and at what pace. Bounded: a job
// sends a fixed number of requests and stops.
import { fork } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  invoicePaid,
  invoicePaymentFailed,
  invoicePaymentSucceeded,
  type StripeEventJson,
  subscriptionUpdated,
} from '../test/fixtures/stripe';
import { type eventIds, GATE, type Load, load, post, quantile } from './load';

/** Request i's account: prefix + floor(i / per) % modulo (indexes below `first.below` use its prefix). */
export interface Accounts {
  prefix: string;
  modulo?: number;
  per?: number;
  first?: { below: number; prefix: string };
}

/**
 * A host app asking the gate about an account right after its webhook's 200 (SPEC §6): GET
 * url + account + suffix with a gate token. Sent without holding up the next webhook.
 */
export interface GateProbe {
  url: string;
  suffix: string;
}

export type Plan =
  /** Signed Stripe webhooks: `invoice.payment_failed`, or a renewal's three events in turn. */
  | {
      kind: 'stripe';
      url: string;
      accounts: Accounts;
      events?: 'payment_failed' | 'renewal';
      probe?: GateProbe;
    }
  /** GET url + account + suffix, with a gate token when `gate` (a host app's credential). */
  | { kind: 'get'; url: string; accounts: Accounts; suffix?: string; gate?: boolean };

/** What the gate probes saw. */
export interface ProbeResult {
  probes: number;
  p50: number;
  p99: number;
  /** Answers that folded acknowledged events the workflow had not applied yet. */
  folded: number;
  /**
   * [event id, the answer's as_of_event_id] of each answer based on an older event than the one
   * just acknowledged: stale if that event turns out to change the account (outcome `applied`).
   */
  behind: [string, string | null][];
}

export type Pace =
  | { concurrency: number }
  /** Open loop: request i is due at i / rate s; one due while `maxInFlight` are out is skipped. */
  | { rate: number; maxInFlight: number };

export interface LoadJob {
  requests: number;
  pace: Pace;
  plan: Plan;
}

/** What the generator process answers. */
export type JobAnswer = { ok: true; result: JobResult } | { ok: false; message: string };

export interface JobResult extends Load {
  /** With a plan's `probe`: the gate answers right after each 200. */
  probe?: ProbeResult;
  /** Requests skipped by an open-loop pace. */
  skipped: number;
  /** CPU seconds the generator used for the job. */
  cpu_seconds: number;
  /** When the first request went out, in ms since the epoch (sub-millisecond). */
  started_at_ms: number;
}

/** Now, in the unit of `started_at_ms`, comparable across processes. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

const RENEWAL: ((ids: ReturnType<typeof eventIds>) => StripeEventJson)[] = [
  (ids) => invoicePaid(ids),
  (ids) => invoicePaymentSucceeded(ids),
  (ids) => subscriptionUpdated({ ...ids, previousAttributes: { status: 'past_due' } }),
];
/** Events per account in a renewal. */
export const RENEWAL_EVENTS = RENEWAL.length;

export function accountOf(a: Accounts, i: number): string {
  const index = Math.floor(i / (a.per ?? 1)) % (a.modulo ?? Number.MAX_SAFE_INTEGER);
  return `${a.first && index < a.first.below ? a.first.prefix : a.prefix}${index}`;
}

/** Every answer counted must be a real answer, not a refusal (a 429 is cheap and fast). */
async function answered200(res: Response): Promise<void> {
  const body = await res.arrayBuffer();
  if (res.status !== 200) {
    throw new Error(`${res.url} answered ${res.status}: ${Buffer.from(body).toString('utf8')}`);
  }
}

const GATE_HEADERS = { authorization: `Bearer ${GATE}` };

interface ProbeSample {
  ms: number;
  folded: boolean;
  /** Set when the answer is based on an event older than the one just acknowledged. */
  behind: [string, string | null] | null;
}

async function probeGate(probe: GateProbe, accountId: string, eventId: string) {
  const t0 = performance.now();
  const res = await fetch(`${probe.url}${accountId}${probe.suffix}`, { headers: GATE_HEADERS });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${res.url} answered ${res.status}: ${text}`);
  const ms = performance.now() - t0;
  const answer = JSON.parse(text) as {
    as_of_event_id?: string | null;
    pending_events_folded?: number;
  };
  const asOf = answer.as_of_event_id ?? null;
  const behind = asOf === null || BigInt(asOf) < BigInt(eventId);
  return {
    ms,
    folded: (answer.pending_events_folded ?? 0) > 0,
    behind: behind ? ([eventId, asOf] as [string, string | null]) : null,
  } satisfies ProbeSample;
}

function summarize(samples: ProbeSample[]): ProbeResult {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  return {
    probes: samples.length,
    p50: quantile(ms, 0.5),
    p99: quantile(ms, 0.99),
    folded: samples.filter((s) => s.folded).length,
    behind: samples.flatMap((s) => (s.behind ? [s.behind] : [])),
  };
}

interface Sender {
  send: (i: number) => Promise<void>;
  /** The probes sent so far, once all have answered (empty without a probe). */
  probes: () => Promise<ProbeSample[]>;
}

function sender(plan: Plan): Sender {
  const probes: Promise<ProbeSample>[] = [];
  const settled = () => Promise.all(probes);
  if (plan.kind === 'stripe') {
    const make = (i: number) =>
      plan.events === 'renewal'
        ? (RENEWAL[i % RENEWAL.length] as (typeof RENEWAL)[number])
        : invoicePaymentFailed;
    const probe = plan.probe;
    return {
      send: async (i) => {
        const accountId = accountOf(plan.accounts, i);
        const eventId = await post(plan.url, accountId, make(i));
        if (probe) probes.push(probeGate(probe, accountId, eventId));
      },
      probes: settled,
    };
  }
  const headers = plan.gate ? GATE_HEADERS : undefined;
  return {
    send: (i) =>
      fetch(`${plan.url}${accountOf(plan.accounts, i)}${plan.suffix ?? ''}`, { headers }).then(
        answered200,
      ),
    probes: settled,
  };
}

async function openLoop(
  n: number,
  rate: number,
  maxInFlight: number,
  send: (i: number) => Promise<void>,
) {
  const t0 = performance.now();
  let inFlight = 0;
  let skipped = 0;
  const sends: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i / rate) * 1000 - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    if (inFlight >= maxInFlight) {
      skipped += 1;
      continue;
    }
    inFlight += 1;
    sends.push(send(i).finally(() => void (inFlight -= 1)));
  }
  await Promise.all(sends);
  const seconds = (performance.now() - t0) / 1000;
  return {
    requests: n - skipped,
    seconds,
    perSecond: (n - skipped) / seconds,
    p50: NaN,
    p99: NaN,
    skipped,
  };
}

/** Runs one job here, in this process. */
export async function runJob(job: LoadJob): Promise<JobResult> {
  const { send, probes } = sender(job.plan);
  const cpu0 = process.cpuUsage();
  const started = epochMs();
  const result =
    'concurrency' in job.pace
      ? { ...(await load(job.requests, job.pace.concurrency, send)), skipped: 0 }
      : await openLoop(job.requests, job.pace.rate, job.pace.maxInFlight, send);
  const samples = await probes();
  const cpu = process.cpuUsage(cpu0);
  return {
    ...result,
    ...(job.plan.kind === 'stripe' && job.plan.probe ? { probe: summarize(samples) } : {}),
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    started_at_ms: started,
  };
}

/** Signed Stripe webhooks to `url` at a fixed concurrency, in a generator process of its own. */
export function webhooks(
  url: string,
  accounts: Accounts,
  requests: number,
  concurrency = 16,
  events: 'payment_failed' | 'renewal' = 'payment_failed',
  probe?: GateProbe,
): Promise<JobResult> {
  return loadElsewhere({
    requests,
    pace: { concurrency },
    plan: { kind: 'stripe', url, accounts, events, ...(probe ? { probe } : {}) },
  });
}

let generatorCpu = 0;
/** CPU seconds every finished generator process used for its jobs. */
export const generatorCpuSeconds = (): number => generatorCpu;

/** Runs one job in a load-generator process of its own (forked under tsx), and waits for it. */
export function loadElsewhere(job: LoadJob): Promise<JobResult> {
  const child = fork(path.join(__dirname, 'load-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<JobResult>((resolve, reject) => {
    let answered = false;
    child.once('message', (a: JobAnswer) => {
      answered = true;
      if (a.ok) {
        generatorCpu += a.result.cpu_seconds;
        resolve(a.result);
      } else reject(new Error(`the load generator failed: ${a.message}`));
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!answered)
        reject(new Error(`the load generator exited (code ${code}) before answering.`));
    });
    child.send(job);
  });
}
