// The SQLite settings of the Temporal dev server (src/dev/local-stack.ts): a file that outlives
// the process (`npm start`'s .data/temporal.db) must survive a power loss uncorrupted, so it is
// synced at NORMAL under WAL; a throwaway in-memory server needs no syncing at all.
import fs from 'node:fs';
import path from 'node:path';

import { makeThrowawayDir, startTemporalDevServer } from '../../src/dev/local-stack';

/** The server's command line, from /proc (the suite runs on Linux). */
function commandLine(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
}

describe('dev server SQLite settings', () => {
  it('when the server keeps a SQLite file, then it runs in WAL mode with synchronous=NORMAL', async () => {
    const dir = makeThrowawayDir('billing-sqlite-');
    const server = await startTemporalDevServer({
      namespace: 'default',
      headless: true,
      dbFilename: path.join(dir, 'temporal.db'),
    });
    try {
      const cmd = commandLine(server.pid);
      expect(cmd).toContain('--sqlite-pragma journal_mode=WAL');
      expect(cmd).toContain('--sqlite-pragma synchronous=NORMAL');
      expect(cmd).not.toContain('synchronous=OFF');
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the server keeps nothing on disk, then SQLite skips syncing (synchronous=OFF)', async () => {
    const server = await startTemporalDevServer({ namespace: 'default', headless: true });
    try {
      expect(commandLine(server.pid)).toContain('--sqlite-pragma synchronous=OFF');
    } finally {
      await server.stop();
    }
  });
});
