// One `npm start` per data directory. The local PostgreSQL cluster and the Temporal dev server's
// SQLite file live there, and a second instance would take the first one's servers for leftovers
// of a killed run and stop them. The lock names its owner by pid and process start time (a pid
// alone may belong to another process after a reboot), and by its API URL once it listens.
import fs from 'node:fs';
import path from 'node:path';

import { isAlive, type LogLine, processStartTime } from './processes';

export const INSTANCE_LOCK_FILE = 'instance.lock';

interface LockOwner {
  pid: number;
  /** The kernel's start time of `pid` (null where there is no /proc): defeats pid reuse. */
  process_start: string | null;
  started_at: string;
  api_url: string | null;
}

export class InstanceRunningError extends Error {
  override name = 'InstanceRunningError';
}

export interface InstanceLock {
  /** Records where the API listens, for the message a second start prints. */
  update(details: { apiUrl: string | null }): void;
  release(): void;
}

/**
 * Takes the lock of `dataDir`, or throws InstanceRunningError naming the instance that holds it.
 * A lock whose owner is gone (killed with SIGKILL, or the machine restarted) is taken over with a
 * `warn` line.
 */
export function acquireInstanceLock(dataDir: string, warn: LogLine): InstanceLock {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, INSTANCE_LOCK_FILE);
  fs.mkdirSync(dir, { recursive: true });
  const me: LockOwner = {
    pid: process.pid,
    process_start: processStartTime(process.pid),
    started_at: new Date().toISOString(),
    api_url: null,
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusively(file, me)) return heldLock(file, me);
    const held = readLock(file);
    if (held === 'gone') continue; // released meanwhile
    if (held.owner && runs(held.owner))
      throw new InstanceRunningError(runningMessage(dir, held.owner));
    const who = held.owner
      ? `pid ${held.owner.pid}, started ${held.owner.started_at}`
      : 'an unreadable owner';
    warn(`taking over the instance lock ${file} from ${who}, which is no longer running`);
    removeIfUnchanged(file, held.inode);
  }
  throw new Error(`Could not take the instance lock ${file}: other starts keep taking it; retry.`);
}

function runningMessage(dir: string, owner: LockOwner): string {
  const api = owner.api_url ? `API ${owner.api_url}` : 'still starting';
  return (
    `Another billing orchestrator already runs on ${dir} (pid ${owner.pid}, ${api}, started ${owner.started_at}): ` +
    `stop it with Ctrl-C in its terminal or \`kill ${owner.pid}\`, or give this one another DATA_DIR.`
  );
}

function runs(owner: LockOwner): boolean {
  if (!isAlive(owner.pid)) return false;
  const start = processStartTime(owner.pid);
  return owner.process_start === null || start === null || start === owner.process_start;
}

/** Creates `file` with its content in one step (link(2) fails if it exists): never half-written. */
function createExclusively(file: string, owner: LockOwner): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(owner) + '\n', { mode: 0o644 });
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

function readLock(file: string): 'gone' | { owner: LockOwner | null; inode: number } {
  let inode: number;
  let text: string;
  try {
    inode = fs.statSync(file).ino;
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    return { owner: Number.isInteger(parsed.pid) ? (parsed as LockOwner) : null, inode };
  } catch {
    return { owner: null, inode }; // not ours to read: judged like a stale one
  }
}

// Another start may have taken the stale lock over meanwhile: remove only the file we judged.
function removeIfUnchanged(file: string, inode: number): void {
  try {
    if (fs.statSync(file).ino === inode) fs.rmSync(file, { force: true });
  } catch {
    // gone already
  }
}

function heldLock(file: string, me: LockOwner): InstanceLock {
  const ours = () => {
    const held = readLock(file);
    return held !== 'gone' && held.owner?.pid === me.pid;
  };
  const release = () => {
    process.removeListener('exit', release);
    if (ours()) fs.rmSync(file, { force: true });
  };
  // process.exit() without a stop (a failed start-up) still releases it; SIGKILL leaves it stale.
  process.on('exit', release);
  return {
    update: ({ apiUrl }) => {
      if (!ours()) return;
      const temp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(temp, JSON.stringify({ ...me, api_url: apiUrl }) + '\n', { mode: 0o644 });
      fs.renameSync(temp, file);
    },
    release,
  };
}
