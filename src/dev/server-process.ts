// A local server as a child process (the Temporal dev server, the self-hosted Temporal server):
// its output goes to the caller's log line by line with the last lines kept for error messages,
// it is killed should this process exit without stopping it, and stop() escalates to SIGKILL.
import { type ChildProcess, spawn } from 'node:child_process';

import type { LogLine } from './processes';
import type { ExitInfo } from './supervisor';

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** Settles when the process has exited, or could not be started. */
  exited: Promise<ExitInfo>;
  /** The last lines it wrote (stdout and stderr), oldest first. */
  recent: () => string[];
  /** Why it is not running (could not start, exited), or undefined while it runs. */
  exitReason: () => string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop: (graceMs: number) => Promise<void>;
}

const KEPT_LINES = 30;

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
  const recent: string[] = [];
  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > KEPT_LINES) recent.shift();
      opts.log(line);
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
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
    recent: () => [...recent],
    exitReason,
    stop,
  };
}
