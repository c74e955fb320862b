// Wakes the endpoints' delivery workflows. The apply transaction queues messages and sends a
// PostgreSQL notification on commit; this LISTENs and signals each active endpoint's workflow
// (signal-with-start), at most one signal per endpoint per `minGapMs` however many commits come,
// so a burst costs a few signals, not one per change. A notification or signal can be lost (no
// listener connected, Temporal down, the process killed after the commit): the catch-up wakes
// every endpoint that has a message overdue by `overdueMs`, every `catchUpMs`.
import { EventEmitter } from 'node:events';

import pg from 'pg';

import { CHANGES_CHANNEL } from '../db/queries/billing-changes';
import { endpointsWithOverdueMessages, listActiveEndpointIds } from '../db/queries/notifications';
import type { Logger } from '../log';
import { type BillingTemporal, wakeNotificationEndpoint } from '../temporal/client';

export interface WakerOptions {
  /** Run before the first catch-up succeeds (the configured endpoint); retried until it does. */
  configure?: () => Promise<void>;
  minGapMs?: number;
  catchUpMs?: number;
  overdueMs?: number;
}

/** Emits `woken` (endpoint ids) after each round of signals. */
export class NotificationWaker extends EventEmitter {
  private client: pg.Client | null = null;
  private stopped = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private catchUpTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private wanted = new Set<string>();
  private wantAll = false;
  private readonly minGapMs: number;
  private readonly catchUpMs: number;
  private readonly overdueMs: number;
  private configure: (() => Promise<void>) | null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly temporal: BillingTemporal,
    private readonly logger: Logger,
    opts: WakerOptions = {},
  ) {
    super();
    this.minGapMs = opts.minGapMs ?? 200;
    this.catchUpMs = opts.catchUpMs ?? 15_000;
    this.overdueMs = opts.overdueMs ?? 10_000;
    this.configure = opts.configure ?? null;
  }

  start(): void {
    void this.listen();
    this.catchUpTimer = setInterval(() => void this.catchUp(), this.catchUpMs);
    this.catchUpTimer.unref();
    void this.catchUp();
  }

  /** Wake these endpoints (all active ones when none are named) within `minGapMs`. */
  wake(endpointIds?: readonly string[]): void {
    if (endpointIds === undefined) this.wantAll = true;
    else for (const id of endpointIds) this.wanted.add(id);
    if (this.flushTimer !== null || this.stopped) return;
    this.flushTimer = setTimeout(() => void this.flush(), this.minGapMs);
    this.flushTimer.unref();
  }

  private async flush(): Promise<void> {
    const all = this.wantAll;
    const named = [...this.wanted];
    this.wantAll = false;
    this.wanted.clear();
    try {
      const ids = all
        ? [...new Set([...(await listActiveEndpointIds(this.pool)), ...named])]
        : named;
      await Promise.all(
        ids.map((id) =>
          wakeNotificationEndpoint(this.temporal, id, 5000).catch((err: unknown) =>
            this.logger.debug(
              { endpoint_id: id, err: String(err) },
              'notification wake-up not sent; the catch-up retries',
            ),
          ),
        ),
      );
      this.emit('woken', ids);
    } catch (err) {
      this.logger.debug(
        { err: String(err) },
        'notification wake-ups not sent; the catch-up retries',
      );
    } finally {
      // Wake-ups asked for during this flush go out one gap later.
      this.flushTimer = null;
      if (!this.stopped && (this.wantAll || this.wanted.size > 0)) this.wake([]);
    }
  }

  /** Endpoints with an overdue message: a wake-up was lost, or the workflow is not running. */
  async catchUp(): Promise<void> {
    try {
      if (this.configure) {
        await this.configure();
        this.configure = null;
        this.emit('configured');
      }
      const overdue = await endpointsWithOverdueMessages(this.pool, this.overdueMs);
      if (overdue.length > 0) this.wake(overdue);
    } catch (err) {
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'notification catch-up could not run; it tries again at the next one',
      );
    }
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.pool.options);
    const lost = () => {
      if (this.client !== client) return;
      this.client = null;
      void client.end().catch(() => undefined);
      if (this.stopped || this.reconnectTimer) return;
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        void this.listen();
      }, 1000);
      this.reconnectTimer.unref();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => this.wake());
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      if (this.stopped) await client.end();
    } catch {
      lost();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.flushTimer, this.catchUpTimer, this.reconnectTimer])
      if (t) clearTimeout(t);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
