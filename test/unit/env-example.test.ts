// .env.example is the configuration reference: every setting the service reads is there, commented
// out, with its built-in default — so reading it tells an operator what they get, and copying it
// to .env (as it says) changes nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type Config, ConfigError, loadConfig, loadEnvFile } from '../../src/config';

const EXAMPLE = fs.readFileSync(path.resolve(__dirname, '..', '..', '.env.example'), 'utf8');

/**
 * `# NAME=value` lines (and live `NAME=value` ones, which there should be none of): each setting
 * with the value it has by default (empty: unset).
 */
const documented = [...EXAMPLE.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => ({
  name: m[1] ?? '',
  value: m[2] ?? '',
}));

/** Enough to start outside local mode, so that no setting is read only as a fallback. */
const BASE: Record<string, string> = {
  ADMIN_TOKEN: 'admin-token-for-the-example-test',
  STRIPE_WEBHOOK_SECRET: 'whsec_ZXhhbXBsZQ==',
  MYASP_TOKEN: 'myasp-token-for-the-example-test',
};

/** What loadConfig makes of an environment: the settings, or the sentence it stops with. */
function outcome(env: Record<string, string>): Config | string {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
}

/** Every variable loadConfig reads, locally and with servers of one's own and Stripe's API. */
function settingsRead(): string[] {
  const read = new Set<string>();
  const watched = (env: Record<string, string>) =>
    new Proxy(env, {
      get: (target, name) => {
        if (typeof name === 'string') read.add(name);
        return target[name as string];
      },
    });
  outcome(watched({ ...BASE }));
  outcome(
    watched({
      ...BASE,
      DATABASE_URL: 'postgres://billing@db.example.com/billing',
      TEMPORAL_ADDRESS: 'temporal.example.com:7233',
      STRIPE_API_KEY: 'sk_test_example',
    }),
  );
  return [...read].sort();
}

describe('.env.example, the configuration reference', () => {
  it('when it is read, then every setting the service reads is there once, and nothing else', () => {
    const names = documented.map((d) => d.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    expect([...names].sort()).toEqual(settingsRead());
  });

  it.each(documented)(
    'when $name=$value is set, then the service is configured as without it (the built-in default)',
    ({ name, value }) => {
      const without = Object.fromEntries(Object.entries(BASE).filter(([k]) => k !== name));
      expect(outcome({ ...without, [name]: value })).toEqual(outcome(without));
    },
  );

  it('when copied to .env as it says, then it sets nothing, so npm start still runs everything locally', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-env-example-'));
    fs.copyFileSync(path.resolve(__dirname, '..', '..', '.env.example'), path.join(dir, '.env'));
    const env: NodeJS.ProcessEnv = {};
    expect(loadEnvFile(dir, env)).toBe(path.join(dir, '.env'));
    expect(env).toEqual({});
  });
});
