// A TLS-protected Temporal with client certificates, as a self-hosted cluster with mTLS or
// Temporal Cloud runs it: nginx in front of the dev server demands a certificate from our CA.
// The service (API client and worker) and the operator CLI must get through with the
// TEMPORAL_TLS_* settings, and a missing or wrong certificate must fail with a sentence.
import { loadConfig } from '../../src/config';
import { runServices } from '../../src/runtime';
import { runTsx } from '../helpers/cli';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { uid } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';
import { createTestLogger } from '../helpers/test-logs';
import {
  createTestPki,
  startTlsProxy,
  type TestPki,
  TLS_SERVER_NAME,
  type TlsProxy,
} from '../helpers/tls-proxy';
import { workflowBundle } from '../helpers/workflow-bundle';

let pki: TestPki;
let proxy: TlsProxy;

beforeAll(async () => {
  pki = createTestPki();
  proxy = await startTlsProxy(process.env.TEST_TEMPORAL_ADDRESS ?? '', pki);
});

afterAll(async () => {
  await proxy?.stop();
});

/** The settings an operator puts in .env for a cluster with mTLS. */
function mtlsEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
    TEMPORAL_TLS_SERVER_NAME: TLS_SERVER_NAME,
    ...overrides,
  };
}

function without(env: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !names.includes(k)));
}

/** Starts one role of the service on `db` and returns its start-up error message, or null. */
async function startError(db: TestDatabase, env: Record<string, string>): Promise<string | null> {
  const config = loadConfig({
    DATABASE_URL: db.databaseUrl,
    TEMPORAL_TASK_QUEUE: `billing-test-${uid('tq')}`,
    STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
    ADMIN_TOKEN: SECRETS.admin,
    PORT: '0',
    ...env,
  });
  try {
    const running = await runServices(config, 'worker', createTestLogger('worker').logger, {
      workflowBundle: await workflowBundle(),
      migrate: false,
      schedules: false,
    });
    await running.stop();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

describe('Temporal behind TLS with client certificates', () => {
  let svc: TestService;

  beforeAll(async () => {
    svc = await startService({ env: mtlsEnv() });
  });

  afterAll(async () => {
    await svc?.stop();
  });

  it('when the service runs through the mTLS proxy, then its worker applies a registration and /readyz sees Temporal', async () => {
    const account = uid('acct-mtls');
    const created = await svc.admin('/v1/accounts', {
      method: 'POST',
      body: JSON.stringify({ account_id: account, trial_days: 14 }),
    });
    expect(created.status).toBe(201);
    const row = (await (await svc.admin(`/v1/accounts/${account}`)).json()) as {
      status: string;
    };
    expect(row.status).toBe('free');
    const ready = await fetch(`${svc.baseUrl}/readyz`);
    expect(await ready.json()).toEqual({ ok: true, postgres: true, temporal: true });
  });

  it('when the operator CLI corrects an account through the mTLS proxy, then the correction is applied', async () => {
    const account = uid('acct-mtls-cli');
    await svc.admin('/v1/accounts', {
      method: 'POST',
      body: JSON.stringify({ account_id: account, trial_days: 14 }),
    });
    const run = await runTsx(
      'src/cli/index.ts',
      ['correct', account, 'active', '--reason', 'paid by bank transfer'],
      {
        ...mtlsEnv(),
        DATABASE_URL: svc.db.databaseUrl,
        TEMPORAL_NAMESPACE: svc.config.temporalNamespace,
        TEMPORAL_TASK_QUEUE: svc.config.taskQueue,
      },
    );
    expect(run).toMatchObject({ code: 0, stdout: expect.stringContaining('is now active') });
  });

  it('when the CLI has no client certificate, then it stops with one sentence naming the setting', async () => {
    const run = await runTsx(
      'src/cli/index.ts',
      ['correct', uid('acct'), 'active', '--reason', 'x'],
      {
        ...without(mtlsEnv(), 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'),
        DATABASE_URL: svc.db.databaseUrl,
      },
    );
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/client certificate/);
    expect(run.stderr).toMatch(/TEMPORAL_TLS_CLIENT_CERT_PATH/);
  });
});

describe('Temporal behind TLS refusing the connection', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('when the worker sends no client certificate, then start-up fails saying the cluster wants one', async () => {
    const message = await startError(
      db,
      without(mtlsEnv(), 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'),
    );
    expect(message).toMatch(/client certificate/);
    expect(message).toMatch(/TEMPORAL_TLS_CLIENT_CERT_PATH/);
    expect(message).toContain(proxy.address);
  });

  it('when the worker sends a certificate from another CA, then start-up fails saying it was refused', async () => {
    const message = await startError(
      db,
      mtlsEnv({
        TEMPORAL_TLS_CLIENT_CERT_PATH: pki.rogueClientCert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: pki.rogueClientKey,
      }),
    );
    expect(message).toMatch(/refused the client certificate/);
    expect(message).toContain(proxy.address);
  });

  it('when the worker does not trust the server certificate, then start-up fails naming the CA setting', async () => {
    const message = await startError(
      db,
      mtlsEnv({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.rogueCaCert }),
    );
    expect(message).toMatch(/server certificate/);
    expect(message).toMatch(/TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
  });

  it('when the worker speaks plaintext to the TLS port, then start-up fails suggesting TLS', async () => {
    const message = await startError(db, { TEMPORAL_ADDRESS: proxy.address });
    expect(message).toMatch(/TLS/);
    expect(message).toContain(proxy.address);
  });

  it('when the client certificate file is missing, then configuration fails with one line', () => {
    expect(() =>
      loadConfig({
        ...mtlsEnv({ TEMPORAL_TLS_CLIENT_CERT_PATH: `${pki.dir}/no-such.pem` }),
        ADMIN_TOKEN: SECRETS.admin,
        MYASP_TOKEN: SECRETS.myasp,
      }),
    ).toThrow(
      `TEMPORAL_TLS_CLIENT_CERT_PATH names ${pki.dir}/no-such.pem, which does not exist; point it at the PEM certificate.`,
    );
  });
});
