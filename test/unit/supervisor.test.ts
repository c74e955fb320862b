// The restart policy on its own, with stand-in processes: pauses double up to the maximum, a
// failed attempt counts like an exit, and stop() ends supervision. (The real dev server under
// supervision is covered by test/infra/npm-start-temporal-restart.test.ts.)
import { type ExitInfo, supervise, type SupervisedProcess } from '../../src/dev/supervisor';
import { waitFor } from '../helpers/wait';

interface StandIn extends SupervisedProcess {
  exit(info: ExitInfo): void;
  stopped: boolean;
}

let nextPid = 100;
function standIn(): StandIn {
  let resolveExit: (info: ExitInfo) => void = () => undefined;
  const proc: StandIn = {
    pid: nextPid++,
    exited: new Promise<ExitInfo>((resolve) => (resolveExit = resolve)),
    exit: (info) => resolveExit(info),
    stopped: false,
    stop: () => {
      proc.stopped = true;
      resolveExit({ code: 0, signal: null });
      return Promise.resolve();
    },
  };
  return proc;
}

describe('supervise', () => {
  it('when the process exits and restarts fail twice, then pauses double and the third attempt takes over', async () => {
    const lines: string[] = [];
    const first = standIn();
    let attempts = 0;
    const replacement = standIn();
    const supervisor = supervise(first, {
      name: 'server',
      warn: (line) => lines.push(line),
      minBackoffMs: 10,
      maxBackoffMs: 1000,
      restart: () => {
        attempts++;
        if (attempts < 3)
          return Promise.reject(new Error(`attempt ${attempts} failed\nsecond line`));
        return Promise.resolve(replacement);
      },
    });
    first.exit({ code: null, signal: 'SIGKILL' });
    await waitFor(() => Promise.resolve(supervisor.current() === replacement), {
      what: 'the replacement',
    });
    expect(lines).toEqual([
      'server exited (signal SIGKILL); restarting in 0.01 s',
      'server could not be restarted (attempt 1 failed); retrying in 0.02 s',
      'server could not be restarted (attempt 2 failed); retrying in 0.04 s',
      `server restarted (pid ${replacement.pid})`,
    ]);
    await supervisor.stop();
    expect(replacement.stopped).toBe(true);
  });

  it('when stopped, then an exit afterwards is not restarted', async () => {
    const first = standIn();
    const restart = jest.fn(() => Promise.resolve(standIn()));
    const supervisor = supervise(first, { name: 'server', warn: () => undefined, restart });
    await supervisor.stop();
    expect(first.stopped).toBe(true);
    await first.exited;
    expect(restart).not.toHaveBeenCalled();
  });

  it('when pauses reach the maximum, then they stay there', async () => {
    const lines: string[] = [];
    let current = standIn();
    const supervisor = supervise(current, {
      name: 'server',
      warn: (line) => lines.push(line),
      minBackoffMs: 5,
      maxBackoffMs: 20,
      resetAfterMs: 3_600_000,
      restart: () => Promise.resolve((current = standIn())),
    });
    for (let i = 0; i < 4; i++) {
      const dying = current;
      dying.exit({ code: 1, signal: null });
      await waitFor(() => Promise.resolve(supervisor.current() !== dying), { what: 'a restart' });
    }
    await supervisor.stop();
    const pauses = lines.filter((l) => l.includes('exited')).map((l) => /in (\S+) s/.exec(l)?.[1]);
    expect(pauses).toEqual(['0.005', '0.01', '0.02', '0.02']);
  });

  it('when a restarted process stayed up long enough, then the next pause starts small again', async () => {
    const lines: string[] = [];
    let current = standIn();
    const supervisor = supervise(current, {
      name: 'server',
      warn: (line) => lines.push(line),
      minBackoffMs: 5,
      resetAfterMs: 0,
      restart: () => Promise.resolve((current = standIn())),
    });
    for (let i = 0; i < 3; i++) {
      const dying = current;
      dying.exit({ code: 1, signal: null });
      await waitFor(() => Promise.resolve(supervisor.current() !== dying), { what: 'a restart' });
    }
    await supervisor.stop();
    const pauses = lines.filter((l) => l.includes('exited')).map((l) => /in (\S+) s/.exec(l)?.[1]);
    expect(pauses).toEqual(['0.005', '0.005', '0.005']);
  });
});
