// The read-only operator page /ops, opened in Debian's chromium (playwright-core) against the
// running service: the daily check with each item's state, the status chart, recent stops, the
// delivery backlog, and an account's status, provenance, timeline and Temporal UI link.
// Screenshots land in .data/ops-page/.
import fs from 'node:fs';
import path from 'node:path';

import { type Browser, chromium, type Page } from 'playwright-core';

import { myaspForm, statusBecomes } from '../helpers/accounts';
import { postMyasp } from '../helpers/http';
import { uid } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';

const SHOTS = path.resolve(__dirname, '..', '..', '.data', 'ops-page');
const UI = 'http://temporal-ui.example:8233';

let svc: TestService;
let browser: Browser;
let page: Page;

function chromiumPath(): string {
  const found = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
    (p): p is string => Boolean(p) && fs.existsSync(p as string),
  );
  if (!found) throw new Error('chromium is not installed: apt-get install chromium.');
  return found;
}

const users = [uid('page', '-'), uid('page', '-'), uid('page', '-')];
let clock = Date.now() - 10 * 60_000;

async function member(user: string, status: 1 | 2, expected: string) {
  const r = await postMyasp(
    svc.baseUrl,
    myaspForm({
      user_id: user,
      status,
      plan: 'standard',
      amount: 1980,
      ts: new Date((clock += 1000)).toISOString(),
    }),
  );
  expect(r.status).toBe(200);
  await statusBecomes(svc, `myasp:${user}`, expected);
}

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  svc = await startService({ temporalUiUrl: UI });
  for (const u of users) await member(u, 1, 'active');
  await member(users[0] ?? '', 2, 'stopped');
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const context = await browser.newContext({
    viewport: { width: 1300, height: 900 },
    httpCredentials: { username: 'ops', password: SECRETS.admin },
  });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await svc?.stop();
});

describe('the /ops page', () => {
  it('when opened without the admin token or with a wrong one, then 401 asks for it', async () => {
    const none = await fetch(`${svc.baseUrl}/ops`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="billing operations"/);
    const wrong = await fetch(`${svc.baseUrl}/ops`, {
      headers: { authorization: `Basic ${Buffer.from('ops:not-the-token').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain(SECRETS.admin);
  });

  it('when an operator opens it, then the daily check, the chart, recent stops and the backlog are shown', async () => {
    const runsBefore = await svc.db.pool.query('SELECT 1 FROM daily_check_runs');
    const res = await page.goto(`${svc.baseUrl}/ops`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");
    await expect(page.locator('h2', { hasText: '日次チェック' }).first().isVisible()).resolves.toBe(
      true,
    );
    const state = (name: string) =>
      page.locator(`tr[data-item="${name}"] .badge`).getAttribute('data-state');
    expect(await state('events_today')).toBe('ok');
    expect(await state('gate_probe')).toBe('ok');
    // 1 of 3 stopped is above the checklist's 10 %.
    expect(await state('status_distribution')).toBe('warn');
    expect(await page.locator('tr[data-item="status_distribution"]').innerText()).toContain(
      'ステータス分布',
    );
    const bar = (status: string) =>
      page.locator(`#status-chart g.bar[data-status="${status}"]`).getAttribute('data-count');
    expect(await bar('active')).toBe('2');
    expect(await bar('stopped')).toBe('1');
    const stops = await page.locator('#recent-stops').innerText();
    expect(stops).toContain(`myasp:${users[0]}`);
    expect(stops).toContain('myasp.stopped');
    expect(await page.locator('#backlog').innerText()).toContain('未配信イベント');
    await page.screenshot({ path: path.join(SHOTS, 'daily-check.png'), fullPage: true });
    // Looking is not running: the page keeps no daily_check_runs row.
    const runsAfter = await svc.db.pool.query('SELECT 1 FROM daily_check_runs');
    expect(runsAfter.rowCount).toBe(runsBefore.rowCount);
  });

  it('when a stopped account is opened from recent stops, then its status, provenance, timeline and Temporal link are shown', async () => {
    await page.locator('#recent-stops a', { hasText: `myasp:${users[0]}` }).click();
    await page.locator('#account').waitFor();
    expect(await page.locator('#account-status').innerText()).toBe('stopped');
    expect(await page.locator('#provenance').innerText()).toContain(`myasp:${users[0]}`);
    const timeline = await page.locator('#timeline tbody').innerText();
    expect(timeline).toContain('myasp.stopped');
    expect(timeline).toContain('myasp.registered');
    expect(timeline).toMatch(/active → stopped/);
    const href = await page.locator('#temporal-link').getAttribute('href');
    expect(href).toBe(
      `${UI}/namespaces/default/workflows/${encodeURIComponent(`billing-account:myasp:${users[0]}`)}`,
    );
    await page.screenshot({ path: path.join(SHOTS, 'account.png'), fullPage: true });
  });

  it('when an account is searched that does not exist, then the page says so with 404', async () => {
    const res = await page.goto(`${svc.baseUrl}/ops/accounts?id=${encodeURIComponent('<nobody>')}`);
    expect(res?.status()).toBe(404);
    expect(await page.locator('main').innerText()).toContain('<nobody>');
    expect(await page.locator('main').innerText()).toContain('アカウントが見つかりません');
  });

  it('when an endpoint was disabled by a 410 and a message ran out of retries, then the notifications section shows both and the daily check fails the item', async () => {
    const change = await svc.db.pool.query<{ change_id: string; seq: string }>(
      `SELECT change_id, seq::text FROM billing_changes WHERE account_id = $1 ORDER BY seq LIMIT 1`,
      [`myasp:${users[1]}`],
    );
    const { change_id: changeId, seq } = change.rows[0] ?? { change_id: '', seq: '' };
    await svc.db.pool.query(
      `INSERT INTO notification_endpoints (id, url, secret, source, disabled_at, disabled_reason)
       VALUES ('ep_gone', 'https://hooks.example.com/gone', 'whsec_AAAA', 'api', now(), 'the receiver answered 410 Gone')`,
    );
    await svc.db.pool.query(
      `INSERT INTO notification_messages (endpoint_id, change_id, account_id, seq, attempts, failed_at, last_status, last_error)
       VALUES ('ep_gone', $1, $2, $3, 12, now(), 503, 'HTTP 503')`,
      [changeId, `myasp:${users[1]}`, seq],
    );
    const res = await page.goto(`${svc.baseUrl}/ops`);
    expect(res?.status()).toBe(200);
    expect(
      await page.locator('tr[data-item="notifications"] .badge').getAttribute('data-state'),
    ).toBe('fail');
    const section = page.locator('#notifications');
    const text = await section.innerText();
    expect(text).toContain('ep_gone');
    expect(text).toContain('the receiver answered 410 Gone');
    expect(text).toContain(changeId);
    expect(text).toContain(`myasp:${users[1]}`);
    expect(text).not.toContain('whsec_AAAA');
    await page.screenshot({ path: path.join(SHOTS, 'notifications.png'), fullPage: true });
  });
});

describe('the /ops what-if form', () => {
  it('when an operator proposes gating one more action, then the page shows who would be denied it, in Japanese and English', async () => {
    await page.goto(`${svc.baseUrl}/ops`);
    await page.locator('header a', { hasText: '変更の試算' }).click();
    await page.locator('#what-if-form').waitFor();
    await page.locator('input[name="gated_actions"]').fill('confirm,export');
    await page.locator('#what-if-form button').click();
    await page.locator('#what-if-result').waitFor();
    const summary = await page.locator('#what-if-summary').innerText();
    expect(summary).toMatch(
      /^what-if GATED_ACTIONS=confirm,export: 0 of \d+ accounts would change status; gate: export allowed→denied 1 /,
    );
    const result = await page.locator('#what-if-result').innerText();
    expect(result).toContain('ゲート（現在 → 変更後）');
    expect(result).toContain('Gate (now → would be)');
    expect(result).toContain('決め手のイベント');
    const example = page.locator('#what-if-result tr', { hasText: `myasp:${users[0]}` });
    expect(await example.innerText()).toMatch(
      /export: allowed → denied \(not_gated → status:stopped\)/,
    );
    expect(await example.innerText()).toContain('myasp.stopped');
    expect(await page.locator('input[name="gated_actions"]').inputValue()).toBe('confirm,export');
    await page.screenshot({ path: path.join(SHOTS, 'what-if.png'), fullPage: true });
    await example.locator('a').click();
    expect(await page.locator('#account-status').innerText()).toBe('stopped');
  });

  it('when a proposed value is not valid, then the form says which one, with 400, and runs nothing', async () => {
    const res = await page.goto(
      `${svc.baseUrl}/ops/what-if?past_due_grace=soon&at=${encodeURIComponent('yesterday')}`,
    );
    expect(res?.status()).toBe(400);
    const errors = await page.locator('#what-if-errors').innerText();
    expect(errors).toContain('入力を確認してください');
    expect(errors).toContain('PAST_DUE_GRACE="soon" is not a duration');
    expect(errors).toContain('--at "yesterday" is not a time');
    expect(await page.locator('#what-if-result').count()).toBe(0);
  });
});
