// Browser check of the operator's view (SPEC §7): in the Temporal Web UI an operator finds an
// account by id and by status, and its history reads like the audit trail. Runs the real stack
// (embedded PostgreSQL, Temporal dev server with UI, the service), posts a MyASP webhook, then
// drives Debian's chromium through playwright-core. Screenshots go to .data/ui-check/.
//   npm run check:ui            (needs chromium: apt-get install chromium; CHROMIUM_PATH to override)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { chromium, type Page } from 'playwright-core';
import { loadConfig } from '../src/config';
import {
  findFreePort,
  startEmbeddedPostgres,
  startTemporalDevServer,
} from '../src/dev/local-stack';
import { runServices } from '../src/runtime';

const TOKEN = 'ui-check-myasp-token';
const OUT = path.resolve('.data', 'ui-check');

function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((p): p is string => Boolean(p) && fs.existsSync(p as string));
  if (!found)
    throw new Error('chromium is not installed: apt-get install chromium (or set CHROMIUM_PATH).');
  return found;
}

async function expectText(page: Page, text: string, what: string): Promise<void> {
  try {
    await page.getByText(text, { exact: false }).first().waitFor({ timeout: 30_000 });
  } catch {
    const shot = path.join(OUT, 'failure.png');
    await page.screenshot({ path: shot, fullPage: true });
    throw new Error(`The Temporal UI did not show ${what} ("${text}"); see ${shot}.`);
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-ui-check-'));
  fs.chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), persistent: false });
  const temporal = await startTemporalDevServer({
    namespace: 'default',
    uiPort: await findFreePort(),
  });
  const config = loadConfig({
    DATABASE_URL: pg.databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    MYASP_TOKEN: TOKEN,
    ADMIN_TOKEN: 'ui-check-admin',
    PORT: '0',
    LOG_LEVEL: 'silent',
  });
  const running = await runServices(config, 'all', pino({ level: 'silent' }), { schedules: false });
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
  try {
    const userId = `ui${Date.now()}`;
    const res = await fetch(`${running.info.apiUrl}/webhooks/myasp?token=${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `user_id=${userId}&status=2&plan=standard&ts=${encodeURIComponent(new Date().toISOString())}`,
    });
    if (res.status !== 200)
      throw new Error(`The webhook answered ${res.status}: ${await res.text()}`);
    const workflowId = `billing-account:myasp:${userId}`;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });

    const byId = `BillingAccountId="myasp:${userId}"`;
    await page.goto(
      `${temporal.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(byId)}`,
    );
    await expectText(page, workflowId, 'the account found by BillingAccountId');
    await page.screenshot({ path: path.join(OUT, 'search-by-account.png') });

    const byStatus = 'BillingStatus="stopped" AND BillingProvider="myasp"';
    await page.goto(
      `${temporal.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(byStatus)}`,
    );
    await expectText(page, workflowId, 'the account found by BillingStatus');
    await page.screenshot({ path: path.join(OUT, 'search-by-status.png') });

    await page.goto(
      `${temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`,
    );
    await expectText(
      page,
      'applyPendingEvents',
      'the applyPendingEvents activity (one per wake-up) in the history',
    );
    await page.screenshot({ path: path.join(OUT, 'history.png'), fullPage: true });
    process.stdout.write(
      `Temporal UI check passed: ${workflowId} found by id and by status; history shows applyPendingEvents. Screenshots in ${OUT}\n`,
    );
  } finally {
    await browser.close();
    await running.stop();
    await temporal.stop();
    await pg.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `Temporal UI check failed: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
