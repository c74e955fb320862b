// `.env` in the working directory, as .env.example asks: read at start-up, the environment wins,
// and a malformed file stops start-up with one line that names the file and line (never a value).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ConfigError, loadEnvFile } from '../../src/config';

function dirWith(envText: string | null): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-env-'));
  if (envText !== null) fs.writeFileSync(path.join(dir, '.env'), envText);
  return dir;
}

describe('loadEnvFile', () => {
  it('when there is no .env, then nothing is read and null says so', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(loadEnvFile(dirWith(null), env)).toBeNull();
    expect(env).toEqual({});
  });

  it('when .env sets variables, then they are added and the file is named', () => {
    const dir = dirWith(
      '# comment\n\nPORT=3999\nexport GATED_ACTIONS=confirm\nSTRIPE_WEBHOOK_SECRET="whsec_a,whsec_b"\nPAST_DUE_GRACE=\n',
    );
    const env: NodeJS.ProcessEnv = {};
    expect(loadEnvFile(dir, env)).toBe(path.join(dir, '.env'));
    expect(env).toEqual({
      PORT: '3999',
      GATED_ACTIONS: 'confirm',
      STRIPE_WEBHOOK_SECRET: 'whsec_a,whsec_b',
      PAST_DUE_GRACE: '',
    });
  });

  it('when a variable is already in the environment, then the environment wins', () => {
    const env: NodeJS.ProcessEnv = { PORT: '4000' };
    loadEnvFile(dirWith('PORT=3999\nLOG_LEVEL=debug\n'), env);
    expect(env).toEqual({ PORT: '4000', LOG_LEVEL: 'debug' });
  });

  it('when a quoted value spans lines, then it is read whole', () => {
    const env: NodeJS.ProcessEnv = {};
    loadEnvFile(dirWith('KEY="line one\nline two"\nPORT=1\n'), env);
    expect(env).toEqual({ KEY: 'line one\nline two', PORT: '1' });
  });

  it.each([
    [
      'a line without =',
      'PORT=1\nADMIN_TOKEN secret-value\n',
      2,
      /line 2 is not of the form NAME=value/,
    ],
    ['a name with a space', 'MY TOKEN=x\n', 1, /line 1 is not of the form NAME=value/],
    [
      'an unclosed quote',
      'PORT=1\nMYASP_TOKEN="abc\n',
      2,
      /line 2 opens a " quote that is never closed/,
    ],
  ])(
    'when .env has %s, then loading stops with one line naming the file and line',
    (_, text, _line, message) => {
      const dir = dirWith(text);
      const env: NodeJS.ProcessEnv = {};
      let error: unknown;
      try {
        loadEnvFile(dir, env);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const text1 = (error as Error).message;
      expect(text1).toContain(path.join(dir, '.env'));
      expect(text1).toMatch(message);
      expect(text1).not.toContain('\n');
      expect(text1).not.toMatch(/secret-value|abc/);
      expect(env).toEqual({});
    },
  );
});
