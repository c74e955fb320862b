// What package.json promises users: the dependencies the code needs, in ranges that work.
import fs from 'node:fs';
import path from 'node:path';

const pkg = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8'),
) as {
  version: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

describe('package.json', () => {
  it('when express is declared, then only express 5 fits, as a dependency and as the host app’s peer (async route handlers need 5: a rejected promise reaches the error middleware)', () => {
    expect(pkg.dependencies.express).toMatch(/^\^5(\.\d+){0,2}$/);
    expect(pkg.peerDependencies.express).toMatch(/^\^5(\.\d+){0,2}$/);
  });

  it('when the release is read, then package.json and CHANGELOG.md name the same version, and the changelog says how patches are retired', () => {
    const changelog = fs.readFileSync(path.resolve(__dirname, '..', '..', 'CHANGELOG.md'), 'utf8');
    expect(changelog.match(/^## (\d+\.\d+\.\d+)/m)?.[1]).toBe(pkg.version);
    expect(changelog).toContain('patched()');
  });
});
