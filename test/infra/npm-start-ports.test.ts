// `npm start` with a port it needs already taken by another program: start-up must not claim to
// run. One line names the port and the setting that moves it, the exit code is 1, and nothing it
// started is left behind (no postmaster, no dev server, no lock on the folder).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { makeThrowawayDir } from '../../src/dev/local-stack';
import { exitCodeOf, localStackEnv, processesUsing, spawnMain } from '../helpers/npm-start';

/** Another program on the port: a plain TCP listener on 127.0.0.1, like `python3 -m http.server`. */
async function occupyPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const CASES = [
  { setting: 'PORT', args: [], run: 'api' },
  { setting: 'LOCAL_PG_PORT', args: [], run: 'postgres' },
  { setting: 'LOCAL_TEMPORAL_PORT', args: [], run: 'temporal' },
  { setting: 'LOCAL_TEMPORAL_UI_PORT', args: [], run: 'temporal-ui' },
  { setting: 'WORKER_HEALTH_PORT', args: ['--role=worker'], run: 'worker' },
];

describe('npm start when a port it needs is taken', () => {
  let root: string;
  beforeAll(() => {
    root = makeThrowawayDir('billing-ports-');
  });
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it.each(CASES)(
    'when $setting names a port another program listens on, then start-up says so in one line, exits 1 and leaves nothing running',
    async ({ setting, args, run }) => {
      // A path that does not spell the setting: the line itself must name it.
      const dataDir = path.join(root, run);
      const taken = await occupyPort();
      try {
        const main = spawnMain({
          cwd: root,
          args,
          env: { ...localStackEnv(dataDir), [setting]: String(taken.port) },
        });
        expect(await exitCodeOf(main)).toBe(1);
        expect(main.output()).not.toMatch(/is running/);
        const lines = main.errors().trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`[Pp]ort ${taken.port}\\b.*\\b${setting}\\b`));
        expect(processesUsing(dataDir)).toEqual([]);
        expect(fs.existsSync(path.join(dataDir, 'instance.lock'))).toBe(false);
      } finally {
        await taken.close();
      }
    },
  );
});
