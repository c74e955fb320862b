// Which process used the CPU during a scenario: samples /proc (Linux) for the bench process (API,
// worker and load generator), the Temporal server (dev or self-hosted), PostgreSQL (the postmaster
// and its backends), the self-hosted server's own PostgreSQL, and the whole machine, so BENCHMARKS.md can say what limits each figure and how much
// of the machine other work took. Elsewhere it reports nothing.
import fs from 'node:fs';
import os from 'node:os';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of one process, in seconds; 0 once it is gone. */
function processSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: fields start after the closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The direct children of `pid` (PostgreSQL's backends are children of the postmaster). */
function childrenOf(pid: number): number[] {
  try {
    return fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((p) => {
        try {
          const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
}

/** Busy CPU seconds of the whole machine (all cores) since boot. */
function machineBusySeconds(): number {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/) ?? [];
    const [user, nice, system, , , irq, softirq, steal] = cpu.slice(1).map(Number);
    return (
      ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
      TICKS_PER_SECOND
    );
  } catch {
    return 0;
  }
}

export interface CpuGroups {
  /** The bench process (the service's API and worker, the classic handler, the registrations'
   * load) and the service's own processes (a worker started apart, `addServiceProcess`). */
  node: number;
  /** The load-generator processes (their own count of the CPU their jobs used). */
  load: number;
  temporal: number;
  postgres: number;
  /** The self-hosted Temporal server's PostgreSQL (none for the dev server, which uses SQLite). */
  temporal_postgres: number;
}

/** Cumulative CPU seconds of each group. PostgreSQL backends that exit take their time with them,
 * so they are sampled while they live (every `sampleMs`) and their last reading is kept. */
export class CpuSampler {
  private readonly seen = new Map<number, number>();
  private readonly seenTemporalPostgres = new Map<number, number>();
  /** The service's processes besides this one, with their last reading (kept after they exit). */
  private readonly services = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: {
      temporal: () => number;
      postgres: number;
      temporalPostgres?: number;
      load?: () => number;
    },
    private readonly sampleMs = 500,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Counts `pid` (a worker process of the service) with the bench process from now on. */
  addServiceProcess(pid: number): void {
    this.services.set(pid, processSeconds(pid));
  }

  private sample(): void {
    sampleCluster(this.pids.postgres, this.seen);
    if (this.pids.temporalPostgres) {
      sampleCluster(this.pids.temporalPostgres, this.seenTemporalPostgres);
    }
    for (const pid of this.services.keys()) {
      const s = processSeconds(pid);
      if (s > 0) this.services.set(pid, s);
    }
  }

  /** CPU seconds so far, per group, and of the whole machine. */
  read(): CpuGroups & { machine: number } {
    this.sample();
    const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    let services = 0;
    for (const s of this.services.values()) services += s;
    return {
      node: processSeconds(process.pid) + services,
      load: this.pids.load?.() ?? 0,
      temporal: processSeconds(this.pids.temporal()),
      postgres: sum(this.seen),
      temporal_postgres: sum(this.seenTemporalPostgres),
      machine: machineBusySeconds(),
    };
  }
}

/** A PostgreSQL postmaster and its backends, each with its last reading (backends come and go). */
function sampleCluster(postmaster: number, seen: Map<number, number>): void {
  for (const pid of [postmaster, ...childrenOf(postmaster)]) {
    const s = processSeconds(pid);
    if (s > 0) seen.set(pid, s);
  }
}

/**
 * Shares of the machine's CPU capacity (cores × seconds) each group used between two readings;
 * `other` is everything else on the machine (other engineers' work on a shared box).
 */
export function cpuShares(
  before: CpuGroups & { machine: number },
  after: CpuGroups & { machine: number },
  seconds: number,
): Record<string, number> {
  const capacity = Math.max(1e-9, seconds * os.cpus().length);
  const d = (k: keyof CpuGroups | 'machine') => Math.max(0, after[k] - before[k]);
  const ours = d('node') + d('load') + d('temporal') + d('postgres') + d('temporal_postgres');
  const round = (x: number) => Math.round((x / capacity) * 1000) / 1000;
  return {
    cpu_node: round(d('node')),
    cpu_load: round(d('load')),
    cpu_temporal: round(d('temporal')),
    cpu_postgres: round(d('postgres')),
    // Only where Temporal has a PostgreSQL of its own (the self-hosted server).
    ...(after.temporal_postgres > 0
      ? { cpu_temporal_postgres: round(d('temporal_postgres')) }
      : {}),
    cpu_other: round(Math.max(0, d('machine') - ours)),
  };
}
