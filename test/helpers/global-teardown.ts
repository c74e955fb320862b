// Stops the stack started by global-setup.ts: closing its stdin asks it to stop, SIGTERM insists.
// Should it hang, it gets SIGKILL and its servers are killed by pid, so no orphan outlives the run.
// Its log stays in the run's log directory for the scan (test/logs/).
import fs from 'node:fs';

const STOP_TIMEOUT_MS = 30_000;

export default async function globalTeardown(): Promise<void> {
  const stack = globalThis.__BILLING_TEST_STACK__;
  globalThis.__BILLING_TEST_STACK__ = undefined;
  if (stack) {
    const { child, serverPids, bundleDir } = stack;
    fs.rmSync(bundleDir, { recursive: true, force: true });
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin?.end();
      child.kill('SIGTERM');
      let forced = false;
      const timer = setTimeout(() => {
        forced = true;
        child.kill('SIGKILL');
      }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      if (forced) serverPids.forEach((pid) => signal(pid, 'SIGKILL'));
    }
  }
  await stopServersTestsLeftRunning();
}

// In band, every test file runs in this process, so a Temporal server a test started (a
// time-skipping env or a private dev server) and never tore down is a child of ours. Left alone it
// would outlive Jest; stop it, and name it so the missing teardown gets fixed.
async function stopServersTestsLeftRunning(): Promise<void> {
  const leftovers = childProcesses(process.pid).filter(({ cmdline }) =>
    /temporal-test-server|temporal\S* server start-dev/.test(cmdline),
  );
  if (leftovers.length === 0) return;
  process.stderr.write(
    `global-teardown: stopping ${leftovers.length} Temporal server(s) a test left running: ` +
      `${leftovers.map(({ pid, cmdline }) => `${pid} (${cmdline.slice(0, 80)})`).join(', ')}\n`,
  );
  leftovers.forEach(({ pid }) => signal(pid, 'SIGTERM'));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && leftovers.some(({ pid }) => isAlive(pid))) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  leftovers.forEach(({ pid }) => signal(pid, 'SIGKILL'));
}

function childProcesses(parentPid: number): { pid: number; cmdline: string }[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return []; // no /proc (macOS): nothing to look at
  }
  const children: { pid: number; cmdline: string }[] = [];
  for (const entry of entries) {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so cut after ')'.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parentPid) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      children.push({ pid: Number(entry), cmdline });
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    if (pid > 0) process.kill(pid, name);
  } catch {
    // already gone
  }
}
