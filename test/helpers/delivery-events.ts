// What a test service's delivery outbox did (sent, held, released, swept: src/delivery/outbox.ts),
// recorded from the start, so a test awaits what happened instead of sleeping to prove that
// nothing did.
import type { DeliveryEvent } from '../../src/delivery/outbox';
import type { TestService } from './service';

export interface DeliveryWatch {
  /** Every event so far, oldest first. */
  seen: DeliveryEvent[];
  /** The first event, seen already or to come, that matches; fails after `timeoutMs`. */
  find<E extends DeliveryEvent>(
    match: (e: DeliveryEvent) => e is E,
    what: string,
    timeoutMs?: number,
  ): Promise<E>;
  /** Wake-ups of the account the relay sent and Temporal accepted. */
  accepted(accountId: string): number;
}

export function watchDelivery(svc: TestService): DeliveryWatch {
  const events = svc.running.delivery?.events;
  if (!events) throw new Error('This service relays nothing (a worker): watch its API.');
  const seen: DeliveryEvent[] = [];
  const waiting = new Set<() => void>();
  events.on('delivery', (e) => {
    seen.push(e);
    for (const check of waiting) check();
  });
  return {
    seen,
    find: (match, what, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`));
        }, timeoutMs);
        function check() {
          const found = seen.find(match);
          if (!found) return;
          clearTimeout(timer);
          waiting.delete(check);
          resolve(found);
        }
        waiting.add(check);
        check();
      }),
    accepted: (accountId) =>
      seen.filter(
        (e) => e.type === 'sent' && e.account_id === accountId && e.result === 'delivered',
      ).length,
  };
}

/** A sweep that started at least `ms` after `since` (epoch ms), so it could list what was stored then. */
export const sweptAfter =
  (since: number, ms: number) =>
  (e: DeliveryEvent): e is Extract<DeliveryEvent, { type: 'swept' }> =>
    e.type === 'swept' && e.started_at >= since + ms;

/** The account's hold ended, for `why`. */
export const released =
  (accountId: string, why: Extract<DeliveryEvent, { type: 'released' }>['why']) =>
  (e: DeliveryEvent): e is Extract<DeliveryEvent, { type: 'released' }> =>
    e.type === 'released' && e.account_id === accountId && e.why === why;

/** The account's wake-up was accepted and is held until its events are applied. */
export const held =
  (accountId: string) =>
  (e: DeliveryEvent): e is Extract<DeliveryEvent, { type: 'held' }> =>
    e.type === 'held' && e.account_id === accountId;
