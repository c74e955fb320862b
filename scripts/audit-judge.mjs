// Judges `npm audit --omit=dev --json` for .ci/run: exit 1 on any high or critical advisory in
// production dependencies; a registry that does not answer its audit endpoint (some mirrors
// answer 405) cannot be judged, which is said loudly, and the run goes on.
//   npm audit --omit=dev --json > audit.json; node scripts/audit-judge.mjs audit.json
import fs from 'node:fs';

/** The verdict for one `npm audit --json` output: exit code and the line to print. */
export function judgeAudit(text) {
  let report;
  try {
    report = JSON.parse(text);
  } catch {
    report = null;
  }
  const v = report?.metadata?.vulnerabilities;
  if (!v) {
    const why =
      report?.error?.summary ||
      report?.error?.code ||
      (report?.statusCode ? `HTTP ${report.statusCode}` : 'no answer');
    return {
      code: 0,
      line: `WARNING: npm audit did not run: the registry did not answer its audit endpoint (${why}).`,
    };
  }
  const counts = `${v.critical ?? 0} critical, ${v.high ?? 0} high, ${v.moderate ?? 0} moderate, ${v.low ?? 0} low`;
  if ((v.high ?? 0) + (v.critical ?? 0) > 0) {
    return {
      code: 1,
      line: `npm audit --omit=dev: ${counts}. High or critical advisories in production dependencies: run npm audit --omit=dev and upgrade.`,
    };
  }
  return { code: 0, line: `npm audit --omit=dev: ${counts}` };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  const text = file && fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const { code, line } = judgeAudit(text);
  (code === 0 ? console.log : console.error)(line);
  process.exit(code);
}
