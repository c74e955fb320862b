// CI (.ci/run) must run what `npm run check` runs: types, lint and format as well as the tests, so
// a type error or an unformatted file fails CI instead of passing because the tests still run.
import fs from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');
const scripts = (
  JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;
const ciLines = fs
  .readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

const lineOf = (pattern: RegExp) => ciLines.findIndex((l) => pattern.test(l));

describe('CI runs the whole check', () => {
  it('when npm run check runs, then it is the static checks followed by the tests', () => {
    expect(scripts.check).toBe('npm run check:static && npm test');
    expect(scripts['check:static']).toBe(
      'npm run typecheck && npm run lint && npm run format:check',
    );
  });

  it('when .ci/run runs, then it stops on any failure and runs the static checks before the tests', () => {
    expect(ciLines).toContain('set -euo pipefail');
    const staticStep = lineOf(/^npm run (-s )?check:static$/);
    const testStep = lineOf(/^npm test\b/);
    expect(staticStep).toBeGreaterThan(-1);
    expect(testStep).toBeGreaterThan(staticStep);
  });
});
