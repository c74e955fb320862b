// The instance lock on its own: who counts as running. (Two real `npm start`s in one folder are
// test/infra/npm-start-one-instance.test.ts.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  acquireInstanceLock,
  INSTANCE_LOCK_FILE,
  InstanceRunningError,
} from '../../src/dev/instance-lock';
import { processStartTime } from '../../src/dev/processes';

describe('instance lock', () => {
  let dir: string;
  const file = () => path.join(dir, INSTANCE_LOCK_FILE);
  const writeOwner = (owner: object) => fs.writeFileSync(file(), JSON.stringify(owner));
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-lock-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when the owner runs (same pid, same start time), then a second taker is refused with its pid and API URL', () => {
    const warn = jest.fn();
    const first = acquireInstanceLock(dir, warn);
    first.update({ apiUrl: 'http://localhost:3999' });
    expect(() => acquireInstanceLock(dir, warn)).toThrow(InstanceRunningError);
    expect(() => acquireInstanceLock(dir, warn)).toThrow(
      new RegExp(`pid ${process.pid}, API http://localhost:3999.*kill ${process.pid}`),
    );
    expect(warn).not.toHaveBeenCalled();
    first.release();
    expect(fs.existsSync(file())).toBe(false);
  });

  it('when the pid lives but belongs to a process started at another time (pid reuse), then the lock is taken over with a line', () => {
    const start = processStartTime(process.pid);
    expect(start).not.toBeNull();
    writeOwner({
      pid: process.pid,
      process_start: String(Number(start) - 1),
      started_at: '2026-01-01T00:00:00.000Z',
      api_url: 'http://localhost:3000',
    });
    const lines: string[] = [];
    const lock = acquireInstanceLock(dir, (line) => lines.push(line));
    expect(lines).toEqual([
      `taking over the instance lock ${file()} from pid ${process.pid}, started 2026-01-01T00:00:00.000Z, which is no longer running`,
    ]);
    expect(JSON.parse(fs.readFileSync(file(), 'utf8'))).toMatchObject({
      pid: process.pid,
      process_start: start,
    });
    lock.release();
  });

  it('when the lock holds garbage, then it is taken over like a stale one', () => {
    fs.writeFileSync(file(), 'not json');
    const lines: string[] = [];
    acquireInstanceLock(dir, (line) => lines.push(line)).release();
    expect(lines).toEqual([
      `taking over the instance lock ${file()} from an unreadable owner, which is no longer running`,
    ]);
  });

  it('when another process took the lock, then release leaves it alone', () => {
    const lock = acquireInstanceLock(dir, () => undefined);
    writeOwner({ pid: 1, process_start: null, started_at: 'x', api_url: null });
    lock.release();
    expect(fs.existsSync(file())).toBe(true);
  });
});
