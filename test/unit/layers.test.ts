// The layers of docs/architecture.md, checked over the real import graph: the "may import" column
// of its table, read from the doc, is each row's allowed list, so the doc and the code cannot
// drift and a new import is refused unless the table allows it. Type-only imports are free (they
// vanish at run time).
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCES = ['src', 'workflows', 'activities'];

function filesUnder(dir: string): string[] {
  const full = path.join(ROOT, dir);
  return fs.readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(rel);
    return entry.name.endsWith('.ts') ? [rel] : [];
  });
}

interface Import {
  /** Repo-relative path (no extension) for a relative specifier, else the package as written. */
  spec: string;
  /** `import('…')`: loaded when that line runs, not when the file is loaded. */
  dynamic: boolean;
}

/** Runtime imports of a file: static ones (import/export … from, require) and dynamic ones. */
function importsOf(file: string): Import[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const found = [
    ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)].map(
      (m) => ({ spec: m[1] ?? '', dynamic: false }),
    ),
    ...[...text.matchAll(/\b(require|import)\(\s*'([^']+)'\s*\)/g)].map((m) => ({
      spec: m[2] ?? '',
      dynamic: m[1] === 'import',
    })),
  ];
  return found.map(({ spec, dynamic }) => ({
    spec: spec.startsWith('.')
      ? path.normalize(path.join(path.dirname(file), spec)).replace(/\.(js|ts)$/, '')
      : spec,
    dynamic,
  }));
}

interface Row {
  /** The row's paths: folders end in `/`, files in `.ts`. */
  paths: string[];
  /** What its files may import besides their own row. */
  allowed: string[];
}

/** The table of docs/architecture.md's "Modules" section: backticked paths and allowed imports. */
function readTable(doc: string): Row[] {
  const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
  return doc
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|').map((c) => c.trim()))
    .map((cells) => ({ paths: ticked(cells[1] ?? ''), allowed: ticked(cells[3] ?? '') }));
}

/**
 * Whether an import matches an entry of the table: a folder (`src/db/`) holds its index and
 * everything under it, a `.ts` file only itself, `node:*` every built-in, a package itself and its subpaths.
 */
function matches(spec: string, entry: string): boolean {
  if (entry.endsWith('/')) return spec.startsWith(entry) || spec === entry.slice(0, -1);
  if (entry.endsWith('.ts')) return spec === entry.slice(0, -'.ts'.length);
  if (entry.endsWith('*')) return spec.startsWith(entry.slice(0, -1));
  return spec === entry || spec.startsWith(`${entry}/`);
}

/** The row a file belongs to: the one naming it most closely. */
function rowOf(rows: Row[], file: string): Row | undefined {
  const closeness = (row: Row) =>
    Math.max(
      -1,
      ...row.paths
        .filter((p) => matches(file.replace(/\.ts$/, ''), p) || p === file)
        .map((p) => p.length),
    );
  return [...rows].sort((a, b) => closeness(b) - closeness(a)).find((r) => closeness(r) >= 0);
}

/** `file → import` for every runtime import the file's row does not allow. */
function violations(rows: Row[], files: string[]): string[] {
  return files.flatMap((file) => {
    const row = rowOf(rows, file);
    if (!row) return [`${file} belongs to no row of the table`];
    return importsOf(file)
      .map((i) => i.spec)
      .filter((spec) => ![...row.paths, ...row.allowed].some((entry) => matches(spec, entry)))
      .map((spec) => `${file} → ${spec}`);
  });
}

const stripComments = (text: string): string =>
  text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

const rows = readTable(fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8'));
const sources = SOURCES.flatMap(filesUnder);

describe('import layers (docs/architecture.md, "may import")', () => {
  it('when the table is read, then it has a row for every room and each row names what it may import', () => {
    expect(rows.map((r) => r.paths[0])).toEqual(
      expect.arrayContaining(['src/domain/', 'src/delivery/', 'workflows/', 'activities/']),
    );
    for (const row of rows)
      for (const p of row.paths) expect(fs.existsSync(path.join(ROOT, p))).toBe(true);
  });

  it('when every source file is scanned, then it imports only what its row allows', () => {
    expect(violations(rows, sources)).toEqual([]);
  });

  it('when a file imports what its row does not name, then the scan refuses it', () => {
    const probe = path.join('src', 'domain', `zz-layers-probe-${process.pid}.ts`);
    fs.writeFileSync(
      path.join(ROOT, probe),
      "import type { Pool } from 'pg';\nimport { x } from '../db/pool';\nimport { y } from './types';\n" +
        "const later = () => import('../dev/local-stack.js');\n",
    );
    try {
      expect(violations(rows, [probe])).toEqual([
        `${probe} → src/db/pool`,
        `${probe} → src/dev/local-stack`,
      ]);
      expect(importsOf(probe).filter((i) => i.dynamic)).toEqual([
        { spec: 'src/dev/local-stack', dynamic: true },
      ]);
    } finally {
      fs.unlinkSync(path.join(ROOT, probe));
    }
  });

  it('when production code loads src/dev, then only in local mode, through a dynamic import in src/runtime.ts or src/main.ts', () => {
    const localModePaths = [path.join('src', 'runtime.ts'), path.join('src', 'main.ts')];
    const loads = sources
      .filter((f) => !f.startsWith(path.join('src', 'dev') + path.sep))
      .flatMap((file) =>
        importsOf(file)
          .filter((i) => /^src\/dev(\/|$)/.test(i.spec))
          .filter((i) => !(i.dynamic && localModePaths.includes(file)))
          .map((i) => `${file} → ${i.spec}${i.dynamic ? ' (dynamic)' : ''}`),
      );
    expect(loads).toEqual([]);
  });

  it('when source code reads process.env, then it is src/config.ts (the one reader of settings)', () => {
    const readers = sources
      .filter((f) => f !== path.join('src', 'config.ts'))
      .filter((f) =>
        /\bprocess\.env\b/.test(stripComments(fs.readFileSync(path.join(ROOT, f), 'utf8'))),
      );
    expect(readers).toEqual([]);
  });
});
