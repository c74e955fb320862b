// .ci/run's npm audit step (scripts/audit-judge.mjs): a high or critical advisory in production
// dependencies fails CI; a clean report passes; a registry that does not answer the audit
// endpoint (this machine's answers 405) passes with a warning. The reports are npm's own shapes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'audit-judge.mjs');

function judge(report: unknown): { status: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-judge-'));
  const file = path.join(dir, 'audit.json');
  fs.writeFileSync(file, typeof report === 'string' ? report : JSON.stringify(report));
  const r = spawnSync(process.execPath, [SCRIPT, file], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const report = (vulnerabilities: Record<string, number>) => ({
  auditReportVersion: 2,
  vulnerabilities: {},
  metadata: {
    vulnerabilities: {
      info: 0,
      low: 0,
      moderate: 0,
      high: 0,
      critical: 0,
      total: 0,
      ...vulnerabilities,
    },
    dependencies: { prod: 120, dev: 0, optional: 0, peer: 0, peerOptional: 0, total: 120 },
  },
});

describe('the npm audit step of .ci/run', () => {
  it('when a production dependency has a high advisory, then it fails and says what to run', () => {
    const r = judge(report({ high: 1, total: 1 }));
    expect(r.status).toBe(1);
    expect(r.out).toContain('0 critical, 1 high');
    expect(r.out).toContain('run npm audit --omit=dev and upgrade');
  });

  it('when one is critical, then it fails', () => {
    expect(judge(report({ critical: 2, total: 2 })).status).toBe(1);
  });

  it('when only moderate and low advisories remain, then it passes and counts them', () => {
    const r = judge(report({ moderate: 3, low: 1, total: 4 }));
    expect(r.status).toBe(0);
    expect(r.out).toContain('0 critical, 0 high, 3 moderate, 1 low');
  });

  it('when the registry answers the audit endpoint with 405, then it passes with a warning naming why', () => {
    const r = judge({
      message:
        '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      method: 'POST',
      statusCode: 405,
      body: '',
      error: { summary: '', detail: '' },
    });
    expect(r.status).toBe(0);
    expect(r.out).toContain('WARNING: npm audit did not run');
    expect(r.out).toContain('HTTP 405');
  });

  it('when npm wrote nothing, then it passes with a warning', () => {
    const r = judge('');
    expect(r.status).toBe(0);
    expect(r.out).toContain('no answer');
  });
});
