// Process handling for the local servers: free ports, reachability, pid files left by a previous
// run, and stopping a process with escalation. Supervision (restarts) is src/dev/supervisor.ts.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export type LogLine = (line: string) => void;

export const noLog: LogLine = () => undefined;

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port found'))));
    });
  });
}

/** Whether `port` on 127.0.0.1 can be listened on right now. */
function isFreePort(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port below `limit` that was free on 127.0.0.1 a moment ago, for servers that cannot use
 * the OS's (high) ephemeral ports: Temporal keeps membership ports in a PostgreSQL smallint.
 */
export async function findFreePortBelow(limit: number, from = 10_000): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (limit - from));
    if (await isFreePort(port)) return port;
  }
  throw new Error(`no free port found between ${from} and ${limit}`);
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When the kernel started `pid` (clock ticks since boot, /proc/<pid>/stat field 22): with the pid,
 * it names one process for good. null where there is no /proc (macOS) or the process is gone.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

// Guards against a recycled pid: the process must still be the one the pid file was written for.
export function processMatches(pid: number, ...needles: string[]): boolean {
  if (!isAlive(pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return needles.every((needle) => cmdline.includes(needle));
  } catch {
    return process.platform !== 'linux'; // no /proc: trust the pid file
  }
}

/** Signals `pid` and waits for it to go; escalates to SIGKILL at the deadline. */
export async function terminate(
  pid: number,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<boolean> {
  process.kill(pid, signal);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(pid)) await delay(100);
  if (!isAlive(pid)) return true;
  process.kill(pid, 'SIGKILL');
  await delay(500);
  return !isAlive(pid);
}

/**
 * A child's last 30 lines of output, kept for an error message; each line also goes to `log` and
 * `onLine` as it comes.
 */
export function collectOutput(
  child: ChildProcess,
  log: LogLine,
  onLine: (line: string) => void = () => undefined,
): string[] {
  const recent: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const take = (line: string) => {
    if (!line.trim()) return;
    recent.push(line);
    if (recent.length > 30) recent.shift();
    log(line);
    onLine(line);
  };
  const onOutput = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const lines = (partial[stream] + chunk.toString('utf8')).split('\n');
    partial[stream] = lines.pop() ?? '';
    lines.forEach(take);
  };
  child.stdout?.on('data', onOutput('stdout'));
  child.stderr?.on('data', onOutput('stderr'));
  // A last line without a newline.
  child.once('close', () => [partial.stdout, partial.stderr].forEach(take));
  return recent;
}
