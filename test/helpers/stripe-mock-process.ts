// Stripe's official mock server (github.com/stripe/stripe-mock, installed by `npm run setup` into
// .tools/bin): serves Stripe's API from its OpenAPI spec and rejects requests the spec does not
// allow, so stripe-node pointed at it checks every request we make against Stripe's contract.
// Listens on 127.0.0.1 only, on ports the system chooses.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const TOOLS = path.resolve(__dirname, '..', '..', '.tools');
const BINARY = path.join(TOOLS, 'bin', 'stripe-mock');

export interface StripeMock {
  url: string;
  stop(): Promise<void>;
}

export async function startStripeMock(timeoutMs = 15_000): Promise<StripeMock> {
  if (!fs.existsSync(BINARY)) {
    throw new Error(
      `stripe-mock is missing (${BINARY}); run \`npm run setup\`, which installs it with Go.`,
    );
  }
  const args = ['-http-addr', '127.0.0.1:', '-https-addr', '127.0.0.1:'];
  for (const [flag, file] of [
    ['-spec', 'spec3.json'],
    ['-fixtures', 'fixtures3.json'],
  ] as const) {
    const full = path.join(TOOLS, 'stripe-mock', file);
    if (fs.existsSync(full)) args.push(flag, full);
  }
  const child: ChildProcess = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`stripe-mock did not listen within ${timeoutMs} ms: ${seen}`));
    }, timeoutMs);
    const read = (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /Listening for HTTP at address: (127\.0\.0\.1:\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stripe-mock exited (${code}) before listening: ${seen}`));
    });
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
