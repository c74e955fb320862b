// A local server as a child process (the Temporal dev server, the self-hosted Temporal server):
// its output goes to the caller's log line by line with the last lines kept for error messages,
// it is killed should this process exit without stopping it, and stop() escalates to SIGKILL.
import { type ChildProcess, spawn } from 'node:child_process';

import { collectOutput, type LogLine } from './processes';
import type { ExitInfo } from './supervisor';

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** Settles when the process has exited, or could not be started. */
  exited: Promise<ExitInfo>;
  /** Settles when its output has ended too ('exit' can come before the last lines). */
  closed: Promise<void>;
  /** The last lines it wrote (stdout and stderr), oldest first. */
  recent: () => string[];
  /** Why it is not running (could not start, exited), or undefined while it runs. */
  exitReason: () => string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop: (graceMs: number) => Promise<void>;
}

export function spawnServer(
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; log: LogLine; cwd?: string },
): ServerProcess {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env,
    cwd: opts.cwd,
  });
  const recent = collectOutput(child, opts.log);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let spawnError: Error | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      spawnError = err; // e.g. EACCES: no 'exit' follows
      resolve({ code: null, signal: null });
    });
  });
  const exitReason = (): string | undefined => {
    if (spawnError) return `could not be started (${spawnError.message})`;
    if (child.exitCode !== null || child.signalCode !== null) {
      return `exited during start-up (${child.exitCode ?? child.signalCode})`;
    }
    return undefined;
  };
  // Last resort against orphans when the process exits without calling stop().
  const killOnExit = () => child.kill('SIGTERM');
  process.on('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));

  const stop = async (graceMs: number): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (exitReason() !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    child,
    pid: child.pid ?? 0,
    exited,
    closed,
    recent: () => [...recent],
    exitReason,
    stop,
  };
}
