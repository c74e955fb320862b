// Docs stay true: every file, folder and npm script the README, RUNBOOK and docs/ name exists.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCS = [
  'README.md',
  'RUNBOOK.md',
  'BENCHMARKS.md',
  'RELIABILITY.md',
  'CHANGELOG.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
].filter((f) => fs.existsSync(path.join(ROOT, f)));

const TOP = [
  'src',
  'workflows',
  'activities',
  'test',
  'bench',
  'docs',
  'scripts',
  'examples',
  'deploy',
  'bin',
  '.ci',
];

/** `src/…`-like paths in backticks or links, without line numbers, globs or placeholders. */
function namedPaths(text: string): string[] {
  const found = new Set<string>();
  const candidates = [...text.matchAll(/`([^`\s]+)`/g), ...text.matchAll(/\]\(([^)\s#]+)\)/g)];
  for (const [, raw] of candidates) {
    const p = (raw ?? '')
      .replace(/^\.\//, '')
      .replace(/[:#].*$/, '')
      .replace(/\/$/, '');
    if (!TOP.some((t) => p === t || p.startsWith(`${t}/`))) continue;
    if (/[*<>{}…]|\.\.\.|NNNN/.test(p)) continue;
    found.add(p);
  }
  return [...found];
}

const SCRIPTS = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: object })
    .scripts,
);

function namedScripts(text: string): string[] {
  return [
    ...new Set([...text.matchAll(/npm run (?:-s )?([a-z][\w:.-]*)/g)].map((m) => m[1] ?? '')),
  ];
}

describe('docs name only what exists', () => {
  it('when the docs are read, then there are some to check', () => {
    expect(DOCS).toEqual(expect.arrayContaining(['README.md', 'docs/architecture.md']));
  });

  it.each(DOCS)('when %s names a file or folder, then it exists', (doc) => {
    const text = fs.readFileSync(path.join(ROOT, doc), 'utf8');
    const missing = namedPaths(text).filter((p) => !fs.existsSync(path.join(ROOT, p)));
    expect(missing).toEqual([]);
  });

  it.each(DOCS)('when %s names an npm script, then package.json has it', (doc) => {
    const text = fs.readFileSync(path.join(ROOT, doc), 'utf8');
    expect(namedScripts(text).filter((s) => !SCRIPTS.includes(s))).toEqual([]);
  });
});
