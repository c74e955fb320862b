// The relay's decisions alone (src/delivery/relay-scheduler.ts), with Jest's fake timers as its
// clock and a send function the test answers: one wake-up per account in flight, requests riding
// the next one, the in-flight bound per kind of account, the hold and what ends it.
import {
  type Clock,
  RECENT_MS,
  type RelayEvent,
  RelayScheduler,
  type SchedulerOptions,
} from '../../src/delivery/relay-scheduler';
import type { AttemptResult, WakeUp } from '../../src/delivery/wake';

const clock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  soon: (fn) => setImmediate(fn),
};

interface Sent {
  accountId: string;
  w: WakeUp;
  answer(result: AttemptResult): void;
}

/** A scheduler whose sends wait for the test to answer them; what it did, as events. */
function scheduler(opts: Partial<SchedulerOptions> = {}) {
  const sent: Sent[] = [];
  const events: RelayEvent[] = [];
  const s = new RelayScheduler(
    (accountId, w) => new Promise((answer) => sent.push({ accountId, w, answer })),
    { maxInFlight: 2, maxWaiting: 100, holdMs: 10_000, onEvent: (e) => events.push(e), ...opts },
    clock,
  );
  s.setHearingApplied(true);
  return { s, sent, events };
}

const wake = (upTo: number, ...eventIds: string[]): WakeUp => ({
  upTo: BigInt(upTo),
  eventIds: eventIds.length > 0 ? eventIds : [String(upTo)],
  resend: false,
});

/** Lets the scheduler's deferred pump and the answered sends run. */
const settle = () => jest.advanceTimersByTimeAsync(0);

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('relay scheduler', () => {
  it('when an account gets several requests in one turn, then one wake-up carries them all', async () => {
    const { s, sent } = scheduler();
    expect(s.request('a', wake(1))).toBe('next');
    expect(s.request('a', wake(3))).toBe('next');
    expect(s.request('a', wake(2))).toBe('next');
    await settle();
    expect(sent.map((x) => [x.accountId, x.w.upTo, x.w.eventIds])).toEqual([
      ['a', 3n, ['1', '3', '2']],
    ]);
  });

  it('when an accepted wake-up is held, then a request meanwhile waits, and goes out once the apply covers the held one', async () => {
    const { s, sent, events } = scheduler();
    s.request('a', wake(1));
    await settle();
    sent[0]?.answer('delivered');
    await settle();
    expect(events).toEqual([
      { type: 'sent', account_id: 'a', result: 'delivered' },
      { type: 'held', account_id: 'a', up_to: '1' },
    ]);
    const heard: AttemptResult[] = [];
    expect(s.request('a', wake(2), (r) => heard.push(r))).toBe('waiting');
    expect(s.hasInHand('a')).toBe(true);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(sent).toHaveLength(1);
    // An apply notification below the held wake-up's events does not end the hold.
    s.applied('a', 0n);
    await settle();
    expect(sent).toHaveLength(1);
    s.applied('a', 1n);
    await settle();
    expect(events.at(-1)).toEqual({ type: 'released', account_id: 'a', why: 'applied' });
    expect(sent.map((x) => x.w.eventIds)).toEqual([['1'], ['2']]);
    sent[1]?.answer('delivered');
    await settle();
    expect(heard).toEqual(['delivered']);
  });

  it('when no apply notification comes, then the hold ends after holdMs and the waiting request goes', async () => {
    const { s, sent, events } = scheduler({ holdMs: 400 });
    s.request('a', wake(1));
    await settle();
    sent[0]?.answer('delivered');
    await settle();
    s.request('a', wake(2));
    await jest.advanceTimersByTimeAsync(399);
    expect(sent).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(events).toContainEqual({ type: 'released', account_id: 'a', why: 'hold_timeout' });
    expect(sent).toHaveLength(2);
  });

  it('when the apply was heard before Temporal answered, then the account is not held', async () => {
    const { s, sent, events } = scheduler();
    s.request('a', wake(5));
    await settle();
    s.applied('a', 5n);
    sent[0]?.answer('delivered');
    await settle();
    expect(events.map((e) => e.type)).toEqual(['sent', 'released']);
    expect(events.at(-1)).toMatchObject({ why: 'applied' });
    expect(s.hasInHand('a')).toBe(false);
  });

  it('when Temporal did not take a wake-up, or apply notifications are not heard, then nothing is held', async () => {
    const { s, sent, events } = scheduler();
    s.request('a', wake(1));
    await settle();
    sent[0]?.answer('unavailable');
    await settle();
    expect(events.at(-1)).toEqual({ type: 'released', account_id: 'a', why: 'not_held' });

    s.setHearingApplied(false);
    s.request('b', wake(2));
    await settle();
    sent[1]?.answer('delivered');
    await settle();
    expect(events.at(-1)).toEqual({ type: 'released', account_id: 'b', why: 'not_held' });
  });

  it('when more accounts ask than may be in flight, then new accounts go up to twice the bound, busy ones up to the bound, and the rest wait their turn', async () => {
    const { s, sent } = scheduler({ maxInFlight: 2 });
    const accounts = ['a', 'b', 'c', 'd', 'e', 'f'];
    expect(accounts.map((a, i) => s.request(a, wake(i + 1)))).toEqual([
      'next',
      'next',
      'next',
      'next',
      'waiting',
      'waiting',
    ]);
    await settle();
    expect(sent.map((x) => x.accountId)).toEqual(['a', 'b', 'c', 'd']);
    for (const x of sent) x.answer('delivered');
    await settle();
    // All four are held (not applied yet): the two waiting stay waiting.
    expect(sent).toHaveLength(4);
    s.applied('a', 1n);
    await settle();
    expect(sent.map((x) => x.accountId)).toEqual(['a', 'b', 'c', 'd', 'e']);

    for (const [i, a] of ['b', 'c', 'd'].entries()) s.applied(a, BigInt(i + 2));
    sent[4]?.answer('delivered');
    await settle();
    expect(sent.map((x) => x.accountId)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    sent[5]?.answer('delivered');
    s.applied('e', 5n);
    s.applied('f', 6n);
    await settle();

    // Each was woken a moment ago: now only two may be out at once.
    expect(accounts.map((a, i) => s.request(a, wake(10 + i)))).toEqual([
      'next',
      'next',
      'waiting',
      'waiting',
      'waiting',
      'waiting',
    ]);
    await settle();
    expect(sent.slice(6).map((x) => x.accountId)).toEqual(['a', 'b']);
    // A minute later they count as not busy again.
    await jest.advanceTimersByTimeAsync(RECENT_MS + 1);
    sent[6]?.answer('failed');
    await settle();
    expect(sent.slice(6).map((x) => x.accountId)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('when maxWaiting accounts wait, then a request of another account is refused and one of a waiting account joins it', () => {
    const { s } = scheduler({ maxInFlight: 1, maxWaiting: 3 });
    expect(['a', 'b', 'c'].map((a, i) => s.request(a, wake(i + 1)))).toEqual([
      'next',
      'next',
      'waiting',
    ]);
    expect(s.request('d', wake(4))).toBe('full');
    expect(s.request('c', wake(5))).toBe('waiting');
    expect(s.hasInHand('d')).toBe(false);
  });

  it('when stopping, then held accounts are let go and their waiting requests go to send', async () => {
    const { s, sent, events } = scheduler();
    s.request('a', wake(1));
    await settle();
    sent[0]?.answer('delivered');
    await settle();
    s.request('a', wake(2));
    s.stop();
    await settle();
    expect(events).toContainEqual({ type: 'released', account_id: 'a', why: 'stopping' });
    expect(sent).toHaveLength(2);
    sent[1]?.answer('unavailable');
    await settle();
    expect(s.hasInHand('a')).toBe(false);
    expect(s.pending()).toEqual([]);
  });
});
