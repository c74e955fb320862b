// Kills a PostgreSQL hard: the postmaster and every backend it started, as the kernel sees them
// (SIGKILL; no shutdown checkpoint, open transactions die with their processes).
import fs from 'node:fs';
import path from 'node:path';

import { waitFor } from './wait';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The postmaster (from its pid file) and its children. */
function postgresProcesses(dataDir: string): number[] {
  const postmaster = Number.parseInt(
    fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '',
    10,
  );
  const children = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

export async function killPostgresHard(dataDir: string): Promise<void> {
  const pids = postgresProcesses(dataDir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor(() => Promise.resolve(pids.every((pid) => !isAlive(pid))), {
    timeoutMs: 10_000,
    what: 'PostgreSQL processes gone',
  });
}
