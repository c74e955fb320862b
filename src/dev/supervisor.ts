// Keeps a local server process alive for `npm start`: when it exits without being asked to, it
// is started again, with a growing pause between attempts so a server that cannot start does
// not spin; stop() ends the supervision and the process.

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SupervisedProcess {
  pid: number;
  /** Settles when the process has exited, for whatever reason. */
  exited: Promise<ExitInfo>;
  stop(): Promise<void>;
}

export interface SupervisorOptions<P extends SupervisedProcess> {
  /** How the process is named in log lines, e.g. `temporal dev server`. */
  name: string;
  /** Starts a new process; resolves once it serves. */
  restart: () => Promise<P>;
  warn: (line: string) => void;
  /** First pause; doubled after each exit or failed attempt up to maxBackoffMs. Default 1 s. */
  minBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  /** A process that stayed up this long starts the next pause at minBackoffMs; default 60 s. */
  resetAfterMs?: number;
}

export interface Supervisor<P extends SupervisedProcess> {
  current(): P;
  stop(): Promise<void>;
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code ?? 'unknown'}`;
}

const seconds = (ms: number) => `${ms / 1000} s`;

/** What `npm start` supervises, as its log lines (and RUNBOOK.md) name them. */
export const SUPERVISED = {
  postgres: 'embedded PostgreSQL',
  temporal: 'temporal dev server',
} as const;

/** The supervisor's log lines, one per event; RUNBOOK.md quotes them (test/unit/runbook.test.ts). */
export const supervisorLines = {
  exited: (name: string, exit: ExitInfo, pauseMs: number) =>
    `${name} exited (${describeExit(exit)}); restarting in ${seconds(pauseMs)}`,
  restarted: (name: string, pid: number) => `${name} restarted (pid ${pid})`,
  notRestarted: (name: string, reason: string, pauseMs: number) =>
    `${name} could not be restarted (${reason}); retrying in ${seconds(pauseMs)}`,
};

export function supervise<P extends SupervisedProcess>(
  first: P,
  opts: SupervisorOptions<P>,
): Supervisor<P> {
  const minBackoff = opts.minBackoffMs ?? 1_000;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const resetAfter = opts.resetAfterMs ?? 60_000;
  let current = first;
  let upSince = Date.now();
  let backoff = minBackoff;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let attempt: Promise<void> | undefined;

  const nextPause = (): number => {
    const pause = backoff;
    backoff = Math.min(backoff * 2, maxBackoff);
    return pause;
  };
  const schedule = (pause: number) => {
    timer = setTimeout(() => {
      timer = undefined;
      attempt = restartNow().finally(() => (attempt = undefined));
    }, pause);
  };
  const watch = (proc: P) => {
    void proc.exited.then((exit) => {
      if (stopped || proc !== current) return;
      if (Date.now() - upSince >= resetAfter) backoff = minBackoff;
      const pause = nextPause();
      opts.warn(supervisorLines.exited(opts.name, exit, pause));
      schedule(pause);
    });
  };
  const restartNow = async (): Promise<void> => {
    if (stopped) return;
    try {
      const next = await opts.restart();
      if (stopped) {
        await next.stop();
        return;
      }
      current = next;
      upSince = Date.now();
      opts.warn(supervisorLines.restarted(opts.name, next.pid));
      watch(next);
    } catch (err) {
      if (stopped) return;
      const pause = nextPause();
      const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
      opts.warn(supervisorLines.notRestarted(opts.name, reason, pause));
      schedule(pause);
    }
  };

  watch(first);
  return {
    current: () => current,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await attempt;
      await current.stop();
    },
  };
}
