// The Stripe manual test procedure as a command: `npm run ops -- trigger <scenario> --account <id>`
// posts signed, realistic webhooks (both Stripe API shapes, MyASP forms) into the running service
// and prints what its account workflow made of them. Real HTTP, PostgreSQL and Temporal.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { count, register, type Row } from '../helpers/accounts';
import { type Run, runTsx } from '../helpers/cli';
import { uid } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';

let svc: TestService;
let noLocalRun: string;

beforeAll(async () => {
  svc = await startService();
  noLocalRun = fs.mkdtempSync(path.join(os.tmpdir(), 'trigger-none-'));
});
afterAll(async () => {
  await svc?.stop();
  fs.rmSync(noLocalRun, { recursive: true, force: true });
});

/** A test service with its own secrets: allowed explicitly, as an operator would. */
function allowed(args: string[]): Promise<Run> {
  return runTsx('src/cli/index.ts', ['trigger', ...args, '--url', svc.baseUrl, '--allow'], {
    DATA_DIR: noLocalRun,
    STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
    MYASP_TOKEN: SECRETS.myasp,
    ADMIN_TOKEN: SECRETS.admin,
  });
}

interface Result {
  status_before: string | null;
  status: string;
  scheduled_cancel_at: string | null;
  outcome: string;
  event_id: string;
  event_type: string;
  shape: string | null;
  audit: Row[];
}

async function triggerJson(scenario: string, account: string, shape = 'basil'): Promise<Result> {
  const r = await allowed([scenario, '--account', account, '--shape', shape, '--json']);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(r.stdout) as Result;
}

describe.each(['basil', 'legacy'])('trigger, Stripe scenarios (%s shape)', (shape) => {
  const account = uid(`acct_trigger_${shape}`);

  beforeAll(async () => {
    expect((await register(svc, { account_id: account, trial_days: 0 })).status).toBe(201);
  });

  it.each([
    ['resubscribe', 'past_due', 'active', 'customer.subscription.created', /^billing\./],
    ['payment-failed', 'active', 'past_due', 'invoice.payment_failed', /^billing\.payment_failed$/],
    ['payment-recovered', 'past_due', 'active', 'invoice.paid', /^billing\./],
    [
      'cancel-scheduled',
      'active',
      'canceling',
      'customer.subscription.updated',
      /^billing\.subscription_updated$/,
    ],
    [
      'cancel-withdrawn',
      'canceling',
      'active',
      'customer.subscription.updated',
      /^billing\.subscription_updated$/,
    ],
    ['trial-ended', 'active', 'active', 'customer.subscription.updated', /^billing\./],
    [
      'subscription-deleted',
      'active',
      'canceled',
      'customer.subscription.deleted',
      /^billing\.subscription_deleted$/,
    ],
  ])(
    'when %s is triggered, then %s becomes %s and the audit row of that event is shown',
    async (scenario, from, to, type, action) => {
      const r = await triggerJson(scenario, account, shape);
      expect(r).toMatchObject({
        status_before: from,
        status: to,
        outcome: 'applied',
        event_type: type,
        shape,
      });
      expect(r.audit[0]).toMatchObject({ event_id: r.event_id, to_status: to });
      expect(String(r.audit[0]?.action)).toMatch(action);
      if (scenario === 'cancel-scheduled') {
        const in30Days = Date.now() + 30 * 86_400_000;
        expect(Math.abs(Date.parse(r.scheduled_cancel_at ?? '') - in30Days)).toBeLessThan(
          86_400_000,
        );
        expect(r.audit[0]?.details).toMatchObject({ cancel_at_period_end: true });
      } else {
        expect(r.scheduled_cancel_at).toBeNull();
      }
    },
  );
});

describe('trigger, MyASP statuses 1–4', () => {
  const account = `myasp:${uid('trigger', '-')}`;

  it.each([
    ['myasp-registered', 'active', '1'],
    ['myasp-2', 'stopped', '2'],
    ['myasp-revived', 'active', '3'],
    ['myasp-4', 'canceled', '4'],
  ])(
    'when %s is triggered, then the member is %s (provider_status %s)',
    async (s, status, code) => {
      const r = await triggerJson(s, account);
      expect(r).toMatchObject({ status, outcome: 'applied', event_type: `myasp status ${code}` });
      const row = await svc.db.pool.query<{ provider_status: string }>(
        'SELECT provider_status FROM billing_accounts WHERE account_id = $1::text',
        [account],
      );
      expect(row.rows[0]?.provider_status).toBe(code);
    },
  );

  it('when the account has no MyASP user, then it says how to name one and posts nothing', async () => {
    const r = await allowed(['myasp-stopped', '--account', uid('acct_plain')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('has no MyASP user id: use --account myasp:<user id>');
  });
});

describe('trigger refuses anything but a local or explicitly allowed service', () => {
  const events = () => count(svc, 'SELECT 1 FROM billing_events');

  it('when no local service runs and --allow is not given, then it refuses in one sentence and posts nothing', async () => {
    const before = await events();
    const r = await runTsx(
      'src/cli/index.ts',
      ['trigger', 'payment-failed', '--account', uid('acct_x'), '--url', svc.baseUrl],
      {
        DATA_DIR: noLocalRun,
        STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
        ADMIN_TOKEN: SECRETS.admin,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('trigger only posts into a service running with its local secrets');
    expect(r.stderr).toContain('--allow');
    expect(r.stderr).not.toContain(SECRETS.stripe);
    expect(await events()).toBe(before);
  });

  describe('next to a service running with its local secrets', () => {
    let localRun: string;
    beforeAll(() => {
      localRun = fs.mkdtempSync(path.join(os.tmpdir(), 'trigger-local-'));
      fs.writeFileSync(
        path.join(localRun, 'runtime.json'),
        JSON.stringify({ apiUrl: svc.baseUrl }),
      );
      fs.writeFileSync(
        path.join(localRun, 'dev-secrets.json'),
        JSON.stringify({
          stripeWebhookSecret: SECRETS.stripe,
          myaspToken: SECRETS.myasp,
          adminToken: SECRETS.admin,
        }),
      );
    });
    afterAll(() => fs.rmSync(localRun, { recursive: true, force: true }));

    it('when triggered without settings, then it posts there and prints the 結果確認 step', async () => {
      const account = uid('acct_local');
      const r = await runTsx(
        'src/cli/index.ts',
        ['trigger', 'resubscribe', '--account', account, '--shape', 'legacy'],
        { DATA_DIR: localRun },
      );
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toContain('posted customer.subscription.created evt_');
      expect(r.stdout).toContain('(legacy shape)');
      expect(r.stdout).toContain('結果確認 / result');
      expect(r.stdout).toMatch(/status: +\(no account\) → active/);
      expect(r.stdout).toMatch(/billing\.\S+ +- +active/);
    });

    it('when --url points elsewhere without --allow, then it refuses', async () => {
      const r = await runTsx(
        'src/cli/index.ts',
        ['trigger', 'payment-failed', '--account', 'acct_x', '--url', 'http://127.0.0.1:9'],
        { DATA_DIR: localRun },
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('is not the local service');
    });
  });
});
