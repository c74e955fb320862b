// The `.env` file: read with Node's own parser (as `process.loadEnvFile` does), after a check for
// the lines that parser would drop or misread without a word.
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

import { ConfigError } from './errors';

export const ENV_FILE = '.env';

const ENV_LINE = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=(.*)$/;
const QUOTES = ['"', "'", '`'];

/**
 * The first line Node's .env parser would drop or misread without a word (it skips such lines
 * and can swallow the next ones), so that start-up can stop instead of running half-configured.
 */
function envFileProblem(text: string): { line: number; problem: string } | null {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    const value = ENV_LINE.exec(line)?.[1]?.trimStart();
    if (value === undefined) return { line: i + 1, problem: 'is not of the form NAME=value' };
    const quote = value[0] ?? '';
    if (!QUOTES.includes(quote) || value.indexOf(quote, 1) > 0) continue;
    const closing = lines.findIndex((later, j) => j > i && later.includes(quote));
    if (closing < 0) return { line: i + 1, problem: `opens a ${quote} quote that is never closed` };
    i = closing;
  }
  return null;
}

/**
 * Reads `.env` from `dir` into `env` (Node's own parser, as `process.loadEnvFile` uses); a
 * variable already set in the environment wins. Returns the file read, or null when there is none.
 */
export function readEnvFileInto(dir: string, env: NodeJS.ProcessEnv): string | null {
  const file = path.resolve(dir, ENV_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new ConfigError(`${file} could not be read (${code ?? String(err)}); fix or remove it.`);
  }
  const found = envFileProblem(text);
  if (found) {
    // The line itself is not shown: it may hold a secret.
    throw new ConfigError(
      `${file} line ${found.line} ${found.problem}; fix that line or remove the file (see .env.example).`,
    );
  }
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined && value !== undefined) env[name] = value;
  }
  return file;
}
