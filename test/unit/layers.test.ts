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

/** Runtime imports of a file, resolved to repo-relative paths for relative specifiers. */
function runtimeImports(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm),
  ].map((m) => m[1] ?? '');
  specs.push(
    ...[...text.matchAll(/\b(?:require|import)\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? ''),
  );
  return specs.map((s) =>
    s.startsWith('.') ? path.normalize(path.join(path.dirname(file), s)) : s,
  );
}

const stripComments = (text: string): string =>
  text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

const NODE_BUILTINS =
  /^(node:|fs$|path$|crypto$|http$|https$|net$|os$|child_process$|util$|stream$|zlib$)/;

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
    layer: 'src/db/',
    files: filesUnder('src/db'),
    forbidden: (s) => /^(src\/(http|services|temporal|cli|ops)|workflows|activities)(\/|$)/.test(s),
    why: 'the database layer knows only SQL and the domain types',
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
  it.each(rules)('when $layer is scanned, then it imports nothing it must not ($why)', (rule) => {
    expect(rule.files.length).toBeGreaterThan(0);
    const violations = rule.files.flatMap((file) =>
      runtimeImports(file)
        .filter(rule.forbidden)
        .map((spec) => `${file} → ${spec}`),
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
      "import { Pool } from 'pg';\nimport { x } from '../src/db/pool';\n",
    );
    try {
      expect(runtimeImports(probe).filter(rules[0]!.forbidden)).toEqual(['pg', 'src/db/pool']);
    } finally {
      fs.unlinkSync(path.join(ROOT, probe));
    }
  });
});
