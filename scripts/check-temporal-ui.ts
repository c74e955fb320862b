// Browser check of the operator's view (SPEC §7): in the Temporal Web UI an operator finds an
// account by id and by status, and its history reads like the audit trail: for every event the
// workflow applied, its event id, type, outcome and status change. Runs the real stack (embedded
// PostgreSQL, Temporal dev server with UI, the service), posts MyASP webhooks (registered, then
// stopped, then an older cancellation that is stale), then drives Debian's chromium through
// playwright-core. Screenshots go to .data/ui-check/.
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
import { type AppliedRow, billingDatabase } from './ui-check-db';

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

interface Sent {
  id: string;
  status: string;
  ts: string;
}

/** Registered, then stopped, then a cancellation older than both (stale): three outcomes. */
async function postEvents(apiUrl: string, userId: string): Promise<Sent[]> {
  const now = Date.now();
  const posts = [
    { status: '1', ts: new Date(now - 60_000).toISOString() },
    { status: '2', ts: new Date(now).toISOString() },
    { status: '4', ts: new Date(now - 120_000).toISOString() },
  ];
  const sent: Sent[] = [];
  for (const [i, p] of posts.entries()) {
    const res = await fetch(`${apiUrl}/webhooks/myasp?token=${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `user_id=${userId}&status=${p.status}&plan=standard&event_id=${userId}-${i}&ts=${encodeURIComponent(p.ts)}`,
    });
    const body = (await res.json()) as { event_id?: string };
    if (res.status !== 200 || !body.event_id) {
      throw new Error(`The webhook answered ${res.status}: ${JSON.stringify(body)}`);
    }
    sent.push({ id: body.event_id, ...p });
  }
  return sent;
}

/**
 * The account's history as an operator reads it: each wake-up's `applyPendingEvents` marker,
 * expanded, lists every applied event with its id, type, outcome and status change.
 */
async function expectTrail(page: Page, applied: AppliedRow[]): Promise<void> {
  await page.getByText('Event History', { exact: false }).first().click();
  // Tall enough that details blocks growing with their content are rendered whole.
  await page.setViewportSize({ width: 1400, height: 8000 });
  await expectText(page, 'applyPendingEvents', 'the applyPendingEvents step in the history');
  // One click per marker row, counted before any opens (opened details name it again, quoted).
  const markers = page.getByText('applyPendingEvents', { exact: true });
  const rows = await markers.count();
  for (let i = 0; i < rows; i++) await markers.nth(i).click({ timeout: 5_000 });
  await expectText(page, 'core_local_activity', 'the expanded local activity markers');
  const text = (await shownDetails(page)).replace(/\s+/g, ' ');
  for (const e of applied) {
    const fields = [
      `"event_id": "${e.id}"`,
      `"event_type": "${e.event_type}"`,
      `"outcome": "${e.outcome}"`,
      `"from_status": ${e.from_status === null ? 'null' : `"${e.from_status}"`}`,
      `"to_status": ${e.to_status === null ? 'null' : `"${e.to_status}"`}`,
    ];
    // The state carried in each result names event ids too: look at every entry of this id.
    const entries = text
      .split(fields[0] as string)
      .slice(1)
      .map((rest) => rest.slice(0, rest.indexOf('}') + 1));
    const best = entries.find((entry) => fields.every((f) => f === fields[0] || entry.includes(f)));
    const missing = best
      ? []
      : fields.filter((f) => f !== fields[0] && !entries.some((entry) => entry.includes(f)));
    if (entries.length === 0) missing.unshift(fields[0] as string);
    if (missing.length > 0) {
      const shot = path.join(OUT, 'failure.png');
      await page.screenshot({ path: shot, fullPage: true });
      fs.writeFileSync(path.join(OUT, 'failure-details.txt'), text);
      throw new Error(
        `The history does not show event ${e.id} as applied (${missing.join(', ')} missing); see ${shot}.`,
      );
    }
  }
}

/**
 * The text of every expanded details block. The UI shows payloads in code editors that render
 * only the lines in view, so each editor is scrolled through as an operator would, and every
 * line seen is kept in its place.
 */
async function shownDetails(page: Page): Promise<string> {
  // A string, not a function: this project compiles without the DOM's types.
  const docs = await page.evaluate<string[]>(`(async () => {
    const out = [];
    for (const scroller of document.querySelectorAll('.cm-scroller')) {
      const lines = new Map();
      for (let top = 0; ; top += Math.max(40, scroller.clientHeight / 2)) {
        scroller.scrollTop = top;
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        for (const l of scroller.querySelectorAll('.cm-line')) lines.set(l.offsetTop, l.textContent);
        if (top + scroller.clientHeight >= scroller.scrollHeight) break;
      }
      out.push([...lines.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]).join('\\n'));
    }
    return out;
  })()`);
  return docs.join('\n');
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
    const sent = await postEvents(running.info.apiUrl ?? '', userId);
    // Every event processed before the browser looks: the answers may precede the wake-up.
    const applied = await billingDatabase(pg.databaseUrl).waitForOutcomes(sent.map((e) => e.id));
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
    await expectTrail(page, applied);
    await page.screenshot({ path: path.join(OUT, 'history.png'), fullPage: true });
    process.stdout.write(
      `Temporal UI check passed: ${workflowId} found by id and by status; its history shows ${applied.length} applied events with id, type, outcome and status change. Screenshots in ${OUT}\n`,
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
