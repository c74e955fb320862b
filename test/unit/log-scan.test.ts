// The scanner the log scan after the suite (test/logs/) relies on: it must flag a planted secret of
// every kind the suite uses, and pass the lines our services really write.
import { findSecrets, TEST_SECRETS } from '../helpers/log-scan';
import { SECRETS } from '../helpers/secrets';
import { signStripePayload } from '../helpers/stripe-signing';
import { kindOfLogFile } from '../helpers/test-logs';

const logLine = (fields: Record<string, unknown>) =>
  JSON.stringify({ level: 30, time: 1767225600123, pid: 4242, name: 'billing', ...fields });

const PEM = [
  '-----BEGIN PRIVATE KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7',
  '-----END PRIVATE KEY-----',
].join('\n');

describe('findSecrets', () => {
  it.each([
    ['the Stripe webhook secret', SECRETS.stripe, 'known test secret'],
    ['the rotated-out Stripe webhook secret', SECRETS.stripeOld, 'known test secret'],
    ['any other Stripe webhook secret', 'whsec_9a8b7c6d5e4f', 'Stripe webhook secret'],
    ['the MyASP token', SECRETS.myasp, 'known test secret'],
    ['a truncated MyASP token', SECRETS.myasp.slice(0, -1), 'known test secret'],
    ['the admin token', SECRETS.admin, 'known test secret'],
    ['a Stripe API key', 'sk_test_reconcile_0123456789', 'Stripe API key'],
    ['a live Stripe API key', 'sk_live_51Habcdef', 'Stripe API key'],
    ['a restricted Stripe key', 'rk_test_51Habcdef', 'Stripe API key'],
    ['a Stripe-Signature value', signStripePayload('{}', 'whsec_other'), 'Stripe-Signature value'],
    ['a lone v1 signature', `v1=${'ab12'.repeat(16)}`, 'Stripe-Signature value'],
    ['a PEM private key', PEM, 'PEM private key'],
    ['an RSA PEM private key', '-----BEGIN RSA PRIVATE KEY-----', 'PEM private key'],
    [
      'a database URL with its password',
      'postgres://postgres:postgres@127.0.0.1:5432/billing',
      'password in a URL',
    ],
    ['a MyASP token in a query', '/webhooks/myasp?token=0f1e2d3c4b5a', 'token in a query string'],
    ['a bearer token', 'authorization: Bearer 0f1e2d3c4b5a69788796', 'bearer credential'],
    ['basic credentials', 'Basic b3BzOmFkbWluLXRva2Vu', 'basic credential'],
    ['an unredacted secret field', '"password":"hunter22"', 'secret-named field'],
    ['a card number', '4242424242424242', 'card-like number'],
    ['a card number with spaces', '4242 4242 4242 4242', 'card-like number'],
    ['a card number with dashes', '5555-5555-5555-4444', 'card-like number'],
    ['a 15-digit card number', '378282246310005', 'card-like number'],
  ])('when a log holds %s, then it is flagged', (_what, planted, kind) => {
    const text = `${logLine({ msg: 'before' })}\n{"msg":"value",${planted} here}\n`;
    const findings = findSecrets(text);
    expect(findings.map((f) => f.kind)).toContain(kind);
    expect(findings.every((f) => f.line === 2)).toBe(true);
    // A finding never repeats the secret it found.
    expect(JSON.stringify(findings)).not.toContain(planted.slice(0, 12));
  });

  it('when a log holds extra secrets a test sent, then they are flagged by value', () => {
    const sent = 'tok-sent-by-a-test-0001';
    expect(findSecrets(`refused ${sent}`, [...TEST_SECRETS, sent])).toMatchObject([
      { kind: 'known test secret', line: 1 },
    ]);
  });

  it('when a log holds only what our services write, then nothing is flagged', () => {
    const clean = [
      logLine({ msg: 'request refused', endpoint: '/webhooks/myasp', status: 401 }),
      logLine({ msg: 'event stored', event_id: 1234567, account_id: 'acct_9f8e7d6c5b4a' }),
      logLine({ runId: '01234567-8901-2345-6789-012345678901', workflowId: 'billing-account:a1' }),
      logLine({ runId: '4a1b2c3d-1234-5678-9012-3456789abcde', took_ms: 1767225600123 }),
      logLine({ msg: 'PostgreSQL at postgres://postgres:***@127.0.0.1:5432/billing' }),
      logLine({ token: '[redacted]', authorization: '[redacted]', req: { headers: '[redacted]' } }),
      logLine({ msg: 'Stripe-Signature is missing; sign with STRIPE_WEBHOOK_SECRET (whsec_…)' }),
      'billing orchestrator is running (all)',
      '  PostgreSQL:   postgres://postgres:***@127.0.0.1:40213/billing',
      '[temporal] time=2026-01-01T00:00:00.000Z level=INFO msg="started" port=7233',
      '[postgres] 2026-01-01 00:00:00.000 UTC [12345] LOG:  database system is ready',
      'billing_test_4242_0a1b2c3d 20260101000000 12345678901234567890123',
    ].join('\n');
    expect(findSecrets(clean)).toEqual([]);
  });
});

describe('kindOfLogFile', () => {
  it.each([
    ['stack.log', 'stack'],
    ['service-fuzz-a1b2c3.log', 'service'],
    ['service-process-reliability-kills-a1b2c3.log', 'service-process'],
    ['npm-start-npm-start-restart-a1b2c3.log', 'npm-start'],
    ['something-else.log', null],
  ])('when the file is %s, then its kind is %s', (name, kind) => {
    expect(kindOfLogFile(name)).toBe(kind);
  });
});
