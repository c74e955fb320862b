// One `npm start` per folder: the local stack's PostgreSQL and Temporal dev server live in its data
// directory, so a second start there must not touch them. It stops with one line naming the
// running instance; a lock left by a killed run is taken over with a log line.
import fs from 'node:fs';
import path from 'node:path';

import { makeThrowawayDir } from '../../src/dev/local-stack';
import { readPidFile } from '../../src/dev/processes';
import {
  exitCodeOf,
  localStackEnv,
  processesUsing,
  spawnMain,
  type StartedStack,
  startLocalStack,
} from '../helpers/npm-start';

describe('npm start twice in one folder', () => {
  let root: string;
  let dataDir: string;
  const stacks: StartedStack[] = [];
  const lockFile = () => path.join(dataDir, 'instance.lock');
  const serverPids = () => ({
    postgres: readPidFile(path.join(dataDir, 'postgres', 'postmaster.pid')),
    temporal: readPidFile(path.join(dataDir, 'temporal.db.pid')),
  });
  const ready = async (stack: StartedStack) => (await fetch(`${stack.apiUrl}/readyz`)).status;

  beforeAll(() => {
    root = makeThrowawayDir('billing-one-instance-');
    dataDir = path.join(root, 'data');
  });
  afterAll(async () => {
    for (const stack of stacks) await stack.stop('SIGINT');
    // Whatever a failed test left behind (the killed instance's servers).
    for (const line of processesUsing(dataDir)) process.kill(Number(line.split(':')[0]), 'SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('when a second start runs in the folder of a running one, then it stops with one line naming the running instance and how to stop it, and the first runs on untouched', async () => {
    const first = await startLocalStack(dataDir);
    stacks.push(first);
    const before = serverPids();
    expect(before.postgres).toBeDefined();
    expect(before.temporal).toBeDefined();

    const second = spawnMain({ cwd: root, env: localStackEnv(dataDir) });
    expect(await exitCodeOf(second)).toBe(1);
    const lines = second.errors().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`pid ${first.child.pid}`);
    expect(lines[0]).toContain(first.apiUrl);
    expect(lines[0]).toContain(`kill ${first.child.pid}`);

    expect(serverPids()).toEqual(before);
    expect(await ready(first)).toBe(200);
    expect(first.output()).not.toMatch(/restarting in|leftover/);
  });

  it('when the running instance was killed (SIGKILL), then the next start takes its lock over with a log line and runs', async () => {
    const killed = stacks.pop() as StartedStack;
    const killedPid = killed.child.pid;
    killed.child.kill('SIGKILL');
    await killed.stop();
    expect(fs.existsSync(lockFile())).toBe(true);

    const next = await startLocalStack(dataDir);
    stacks.push(next);
    expect(next.output()).toMatch(
      new RegExp(`taking over .*lock.* pid ${killedPid}\\b.*no longer running`),
    );
    expect(await ready(next)).toBe(200);
    expect(await next.stop('SIGINT')).toBe(0);
    stacks.pop();
    expect(fs.existsSync(lockFile())).toBe(false);
    expect(processesUsing(dataDir)).toEqual([]);
  });
});
