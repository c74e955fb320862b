// The layers of docs/architecture.md, checked over the real import graph: a file's path says what
// it may touch. Type-only imports are free (they vanish at run time).
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function filesUnder(dir: string): string[] {
  const full = path.join(ROOT, dir);
  return fs.readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(rel);
    return entry.name.endsWith('.ts') ? [rel] : [];
  });
}

interface Import {
  /** Repo-relative path for a relative specifier, else the package name as written. */
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
    spec: spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)) : spec,
    dynamic,
  }));
}

/** Runtime imports of a file, resolved to repo-relative paths for relative specifiers. */
function runtimeImports(file: string): string[] {
  return importsOf(file).map((i) => i.spec);
}

const stripComments = (text: string): string =>
  text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

const NODE_BUILTINS =
  /^(node:|fs$|path$|crypto$|http$|https$|net$|os$|child_process$|util$|stream$|zlib$)/;

/**
 * What reading settings needs: zod, a few Node built-ins, the pure parts in src/config/ and the
 * domain's duration parser.
 */
const settingsImport = (s: string): boolean =>
  s.startsWith('src/config/') ||
  s === 'src/domain/duration' ||
  s === 'src/domain/errors' ||
  ['zod', 'node:fs', 'node:path', 'node:crypto', 'node:util'].includes(s);

interface Rule {
  layer: string;
  files: string[];
  forbidden: (spec: string) => boolean;
  why: string;
}

const rules: Rule[] = [
  {
    layer: 'workflows/',
    files: filesUnder('workflows'),
    forbidden: (s) =>
      NODE_BUILTINS.test(s) ||
      ['pg', 'express', 'stripe', 'pino', '@temporalio/client', '@temporalio/worker'].includes(s) ||
      /^(src\/(db|http|services|temporal|cli|ops|dev)|activities)(\/|$)/.test(s),
    why: 'workflow code runs in the deterministic sandbox: IO only through activities',
  },
  {
    layer: 'src/domain/',
    files: filesUnder('src/domain'),
    forbidden: (s) => !s.startsWith('src/domain/'),
    why: 'the domain is pure: it imports nothing but itself',
  },
  {
    layer: 'activities/',
    files: filesUnder('activities'),
    forbidden: (s) =>
      ['express', 'stripe', '@temporalio/client'].includes(s) ||
      /^(src\/(http|cli|temporal|dev)|workflows)(\/|$)/.test(s),
    why: 'activities do database work through db, ops and services; Stripe and Temporal come injected',
  },
  {
    layer: 'src/ops/',
    files: filesUnder('src/ops'),
    forbidden: (s) =>
      (s.startsWith('src/') && !/^src\/(ops|db|domain)(\/|$)/.test(s)) ||
      /^(workflows|activities)(\/|$)/.test(s) ||
      s.startsWith('@temporalio/') ||
      ['express', 'stripe'].includes(s),
    why: 'operator checks read the database through db and decide with the domain; Temporal comes as a probe',
  },
  {
    layer: 'src/services/',
    files: filesUnder('src/services'),
    forbidden: (s) =>
      /^(src\/(http|cli|ops|dev)|workflows|activities)(\/|$)/.test(s) || s === 'express',
    why: 'use cases are shared by HTTP, CLI and activities, so they import none of them',
  },
  {
    layer: 'src/temporal/',
    files: filesUnder('src/temporal'),
    forbidden: (s) =>
      /^(src\/(http|cli|services|ops|dev)|activities)(\/|$)/.test(s) ||
      ['express', 'stripe'].includes(s),
    why: 'the Temporal side (client, worker, delivery) knows workflows, not the use cases that call it',
  },
  {
    layer: 'src/http/',
    files: filesUnder('src/http'),
    forbidden: (s) =>
      /^(src\/(cli|dev)|workflows|activities)(\/|$)/.test(s) || s === '@temporalio/worker',
    why: 'routes call services, ops and the Temporal client; they never run a worker',
  },
  {
    layer: 'src/cli/',
    files: filesUnder('src/cli'),
    forbidden: (s) =>
      /^(src\/(http|dev)|workflows|activities)(\/|$)/.test(s) ||
      ['express', '@temporalio/worker'].includes(s),
    why: 'operator commands call services and ops, as the HTTP routes do',
  },
  {
    layer: 'src/config.ts',
    files: [path.join('src', 'config.ts')],
    forbidden: (s) => !settingsImport(s),
    why: 'settings are read with zod and Node built-ins alone, so every process can load them first',
  },
  {
    layer: 'src/config/',
    files: filesUnder('src/config'),
    forbidden: (s) => !settingsImport(s),
    why: 'the pure parts of reading settings are handed the environment; they load nothing of the service',
  },
  {
    layer: 'src/db/',
    files: filesUnder('src/db'),
    forbidden: (s) => /^(src\/(http|services|temporal|cli|ops)|workflows|activities)(\/|$)/.test(s),
    why: 'the database layer knows only SQL and the domain types',
  },
  {
    layer: 'src/dev/',
    files: filesUnder('src/dev'),
    forbidden: (s) =>
      /^(src\/(http|services|ops|cli|db|domain|host-app)|workflows|activities)(\/|$)/.test(s) ||
      (s.startsWith('src/temporal/') &&
        !['src/temporal/binaries', 'src/temporal/search-attributes'].includes(s)),
    why: 'the local stack starts servers; it knows settings, the Temporal binaries and search attributes, nothing of the service',
  },
  {
    layer: 'src/host-app/',
    files: filesUnder('src/host-app'),
    forbidden: (s) =>
      s.startsWith('src/') && !s.startsWith('src/host-app/') && !s.startsWith('src/domain/'),
    why: 'it runs in the host application: it loads the pure domain, not the service',
  },
];

describe('import layers', () => {
  it('when docs/architecture.md lists a folder in its table, then a rule here checks it, and every rule is a row there', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([^`]+)`\s+\|/gm)].map((m) => m[1]);
    expect(rows.length).toBeGreaterThan(5);
    expect(new Set(rules.map((r) => r.layer))).toEqual(new Set(rows));
  });

  it.each(rules)('when $layer is scanned, then it imports nothing it must not ($why)', (rule) => {
    expect(rule.files.length).toBeGreaterThan(0);
    const violations = rule.files.flatMap((file) =>
      runtimeImports(file)
        .filter(rule.forbidden)
        .map((spec) => `${file} → ${spec}`),
    );
    expect(violations).toEqual([]);
  });

  it('when production code loads src/dev, then only in local mode, through a dynamic import in src/runtime.ts or src/main.ts', () => {
    const localModePaths = [path.join('src', 'runtime.ts'), path.join('src', 'main.ts')];
    const violations = ['src', 'activities', 'workflows']
      .flatMap(filesUnder)
      .filter((f) => !f.startsWith(path.join('src', 'dev') + path.sep))
      .flatMap((file) =>
        importsOf(file)
          .filter((i) => /^src\/dev(\/|$)/.test(i.spec))
          .filter((i) => !(i.dynamic && localModePaths.includes(file)))
          .map((i) => `${file} → ${i.spec}${i.dynamic ? ' (dynamic)' : ''}`),
      );
    expect(violations).toEqual([]);
  });

  it('when source code reads process.env, then it is src/config.ts (the one reader of settings)', () => {
    const readers = ['src', 'activities', 'workflows']
      .flatMap(filesUnder)
      .filter((f) => f !== path.join('src', 'config.ts'))
      .filter((f) =>
        /\bprocess\.env\b/.test(stripComments(fs.readFileSync(path.join(ROOT, f), 'utf8'))),
      );
    expect(readers).toEqual([]);
  });

  it('when a forbidden import is present, then the scanner sees it', () => {
    const probe = path.join('workflows', `zz-layers-probe-${process.pid}.ts`);
    fs.writeFileSync(
      path.join(ROOT, probe),
      "import { Pool } from 'pg';\nimport { x } from '../src/db/pool';\n" +
        "const later = () => import('../src/dev/local-stack.js');\n",
    );
    try {
      expect(runtimeImports(probe).filter(rules[0]!.forbidden)).toEqual([
        'pg',
        'src/db/pool',
        'src/dev/local-stack.js',
      ]);
      expect(importsOf(probe).filter((i) => i.dynamic)).toEqual([
        { spec: 'src/dev/local-stack.js', dynamic: true },
      ]);
    } finally {
      fs.unlinkSync(path.join(ROOT, probe));
    }
  });
});
