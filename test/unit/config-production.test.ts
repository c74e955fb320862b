// Production connectivity settings: how TEMPORAL_TLS_*, TEMPORAL_API_KEY and DATABASE_URL's TLS
// parameters are read, and the one-line errors a wrong setting gives before anything starts.
import fs from 'node:fs';

import { loadConfig, loadTemporalSecurity } from '../../src/config';
import { configErrorMessage } from '../helpers/errors';
import { createTestPki, type TestPki } from '../helpers/tls-proxy';

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => {
  fs.rmSync(pki.dir, { recursive: true, force: true });
});

const base = { ADMIN_TOKEN: 'admin-token-0123456789', MYASP_TOKEN: 'myasp-token-0123456789' };
const message = configErrorMessage;

describe('Temporal TLS and API key settings', () => {
  it('when nothing is set, then the connection is plaintext without credentials', () => {
    expect(loadTemporalSecurity({})).toEqual({ tls: null, apiKey: null });
  });

  it('when an API key is set (Temporal Cloud), then TLS is on with the system CAs', () => {
    expect(loadTemporalSecurity({ TEMPORAL_API_KEY: 'key-abc' })).toEqual({
      tls: {},
      apiKey: 'key-abc',
    });
  });

  it('when the certificate and key come as PEM text with \\n escapes, then they are read as PEM', () => {
    const oneLine = (file: string) => fs.readFileSync(file, 'utf8').trim().replace(/\n/g, '\\n');
    const s = loadTemporalSecurity({
      TEMPORAL_TLS_CLIENT_CERT_DATA: oneLine(pki.clientCert),
      TEMPORAL_TLS_CLIENT_KEY_DATA: oneLine(pki.clientKey),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    expect(s.tls?.clientCertPair?.crt.toString()).toBe(fs.readFileSync(pki.clientCert, 'utf8'));
    expect(s.tls?.serverNameOverride).toBe('temporal.internal');
  });

  it.each([
    [
      'the key belongs to another certificate',
      { TEMPORAL_TLS_CLIENT_CERT_PATH: 'client', TEMPORAL_TLS_CLIENT_KEY_PATH: 'rogueKey' },
      'The Temporal client key (TEMPORAL_TLS_CLIENT_KEY_*) does not belong to the client certificate (TEMPORAL_TLS_CLIENT_CERT_*).',
    ],
    [
      'a certificate is set without its key',
      { TEMPORAL_TLS_CLIENT_CERT_PATH: 'client' },
      'A Temporal client certificate is set but no key: set TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA) too.',
    ],
    [
      'a path and PEM text are both set',
      { TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'ca', TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'pem' },
      'Both TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_CA_CERT_DATA are set; keep one of them.',
    ],
    [
      'the PEM text is not PEM',
      { TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'not a certificate' },
      'TEMPORAL_TLS_SERVER_CA_CERT_DATA does not hold a PEM CA certificate (it must start with -----BEGIN).',
    ],
    [
      'TLS is switched off while an API key is set',
      { TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' },
      'TEMPORAL_TLS is false, but a client certificate, server CA, server name or API key is set; remove TEMPORAL_TLS=false or those settings.',
    ],
  ])('when %s, then start-up stops with one line', (_label, env, expected) => {
    const files: Record<string, string> = {
      client: pki.clientCert,
      rogueKey: pki.rogueClientKey,
      ca: pki.caCert,
    };
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, k.endsWith('_PATH') ? (files[v] ?? v) : v]),
    );
    const text = message(() => loadTemporalSecurity(resolved));
    expect(text).toBe(expected);
    expect(text).not.toContain('\n');
  });

  it('when TLS settings are given without TEMPORAL_ADDRESS, then start-up says the dev server is plaintext', () => {
    expect(message(() => loadConfig({ ...base, TEMPORAL_API_KEY: 'k' }))).toMatch(
      /TEMPORAL_ADDRESS is not; .*plaintext/,
    );
  });
});

describe('PostgreSQL over TLS', () => {
  const url = 'postgres://billing:pw@db.example.com:5432/billing';

  it('when sslmode and a readable sslrootcert are given, then the configuration loads', () => {
    const config = loadConfig({
      ...base,
      DATABASE_URL: `${url}?sslmode=verify-full&sslrootcert=${pki.caCert}`,
      TEMPORAL_ADDRESS: 'temporal:7233',
    });
    expect(config.databaseUrl).toContain('sslmode=verify-full');
  });

  it('when sslrootcert names a missing file, then start-up stops with one line', () => {
    expect(
      message(() =>
        loadConfig({
          ...base,
          DATABASE_URL: `${url}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem`,
        }),
      ),
    ).toBe(
      "DATABASE_URL's sslrootcert names /nonexistent/ca.pem, which does not exist or cannot be read.",
    );
  });

  it('when sslmode is misspelled, then start-up lists the valid modes', () => {
    expect(
      message(() => loadConfig({ ...base, DATABASE_URL: `${url}?sslmode=verify_full` })),
    ).toMatch(/^DATABASE_URL has sslmode=verify_full; use one of disable, .*verify-full/);
  });
});

describe('worker settings', () => {
  it('when unset, then there is no health port and a 30 s shutdown grace', () => {
    expect(loadConfig(base).worker).toEqual({
      healthPort: null,
      shutdownGraceMs: 30_000,
      tuning: {},
    });
  });

  it('when the WORKER_* sizes are set, then the worker settings carry each of them', () => {
    const env = {
      ...base,
      WORKER_MAX_CACHED_WORKFLOWS: '12000',
      WORKER_WORKFLOW_TASK_SLOTS: '8',
      WORKER_ACTIVITY_SLOTS: '20',
      WORKER_LOCAL_ACTIVITY_SLOTS: '10',
      WORKER_WORKFLOW_TASK_POLLERS: '4',
      WORKER_ACTIVITY_TASK_POLLERS: '2',
    };
    expect(loadConfig(env).worker.tuning).toEqual({
      maxCachedWorkflows: 12_000,
      workflowTaskSlots: 8,
      activitySlots: 20,
      localActivitySlots: 10,
      workflowTaskPollers: 4,
      activityTaskPollers: 2,
    });
  });

  it.each(['lots', '1', '2.5', '-4'])(
    'when WORKER_MAX_CACHED_WORKFLOWS is %s, then start-up says what it takes',
    (raw) => {
      expect(message(() => loadConfig({ ...base, WORKER_MAX_CACHED_WORKFLOWS: raw }))).toBe(
        `WORKER_MAX_CACHED_WORKFLOWS "${raw}" is not a whole number of at least 2.`,
      );
    },
  );

  it('when WORKER_SHUTDOWN_GRACE is not a duration, then start-up says how to write one', () => {
    expect(message(() => loadConfig({ ...base, WORKER_SHUTDOWN_GRACE: 'soon' }))).toBe(
      'WORKER_SHUTDOWN_GRACE "soon" is not a duration; use a value like 30s or 2m.',
    );
  });
});

describe('delivery settings', () => {
  it('when DELIVERY_MAX_IN_FLIGHT is unset, then 4 wake-ups may be in flight; when set, that many', () => {
    expect(loadConfig(base).deliveryMaxInFlight).toBe(4);
    expect(loadConfig({ ...base, DELIVERY_MAX_IN_FLIGHT: '3' }).deliveryMaxInFlight).toBe(3);
  });

  it.each(['0', 'many', '1.5'])(
    'when DELIVERY_MAX_IN_FLIGHT is %s, then start-up says what it takes',
    (raw) => {
      expect(message(() => loadConfig({ ...base, DELIVERY_MAX_IN_FLIGHT: raw }))).toBe(
        'DELIVERY_MAX_IN_FLIGHT must be a whole number of 1 or more.',
      );
    },
  );
});

describe('gate tokens and the gate budget', () => {
  it('when GATE_TOKENS is unset, then there are none (only the admin token opens the gate), and the budget is 60,000 reads a minute per token', () => {
    expect(loadConfig(base)).toMatchObject({ gateTokens: [], gateRateLimitPerMinute: 60_000 });
  });

  it('when GATE_TOKENS lists several during a rotation, then each is kept, spaces and empty items dropped', () => {
    const config = loadConfig({
      ...base,
      GATE_TOKENS: ' gate-new-0123456789 , gate-old-9876543210,,',
      GATE_RATE_LIMIT_PER_MINUTE: '120000',
    });
    expect(config).toMatchObject({
      gateTokens: ['gate-new-0123456789', 'gate-old-9876543210'],
      gateRateLimitPerMinute: 120_000,
    });
  });

  it('when GATE_TOKENS contains the admin token, then start-up refuses it: a gate token is read-only', () => {
    expect(
      message(() => loadConfig({ ...base, GATE_TOKENS: `gate-0123456789,${base.ADMIN_TOKEN}` })),
    ).toBe(
      'GATE_TOKENS contains ADMIN_TOKEN; a gate token is read-only and must differ from the admin token (see .env.example).',
    );
  });

  it.each(['0', 'lots'])(
    'when GATE_RATE_LIMIT_PER_MINUTE is %s, then start-up says what it takes',
    (raw) => {
      expect(message(() => loadConfig({ ...base, GATE_RATE_LIMIT_PER_MINUTE: raw }))).toBe(
        'GATE_RATE_LIMIT_PER_MINUTE must be a whole number of 1 or more.',
      );
    },
  );
});
