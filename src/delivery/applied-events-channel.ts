// "The account's events are applied up to id N": a PostgreSQL notification the apply transaction
// sends on commit, so the delivery relay (in whichever process answers webhooks) knows when the
// wake-up it sent has done its work, and sends the next one only for events that batch did not
// take. Only a hint: a lost notification costs a later, redundant wake-up, never an event.
import pg from 'pg';

export const APPLIED_EVENTS_CHANNEL = 'billing_events_applied';

/** Inside the apply transaction: delivered to listeners when (and only if) it commits. */
export async function notifyEventsApplied(
  db: Pick<pg.ClientBase, 'query'>,
  accountId: string,
  upToEventId: string,
): Promise<void> {
  await db.query('SELECT pg_notify($1::text, $2::text)', [
    APPLIED_EVENTS_CHANNEL,
    `${upToEventId}:${accountId}`,
  ]);
}

/** `<id>:<account id>` back into its parts; null for anything else. */
export function parseAppliedNotification(
  payload: string | undefined,
): { accountId: string; upTo: bigint } | null {
  const match = /^(\d+):(.+)$/s.exec(payload ?? '');
  if (!match) return null;
  return { upTo: BigInt(match[1] as string), accountId: match[2] as string };
}

export interface AppliedEventsListenerOptions {
  /** Wait before connecting again after the listening connection failed. */
  retryMs?: number;
  onApplied: (accountId: string, upTo: bigint) => void;
  /** The connection is listening (true) or lost (false). */
  onListening?: (listening: boolean) => void;
}

/**
 * LISTENs on its own connection (not one of the pool's, which serve requests) with the pool's
 * settings, and connects again after a failure until stopped.
 */
export class AppliedEventsListener {
  private client: pg.Client | null = null;
  /** The connection being opened, so a late 'end' of an older one starts nothing new. */
  private connecting: pg.Client | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: AppliedEventsListenerOptions,
  ) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.pool.options);
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      const applied = parseAppliedNotification(msg.payload);
      if (applied) this.opts.onApplied(applied.accountId, applied.upTo);
    });
    this.connecting = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${APPLIED_EVENTS_CHANNEL}`);
      if (this.stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.connecting = null;
      this.client = client;
      this.opts.onListening?.(true);
    } catch {
      this.lost(client);
    }
  }

  private lost(client: pg.Client): void {
    const current = this.client === client || this.connecting === client;
    if (this.client === client) {
      this.client = null;
      this.opts.onListening?.(false);
    }
    if (this.connecting === client) this.connecting = null;
    void client.end().catch(() => undefined);
    if (!current || this.stopped || this.retry !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, this.opts.retryMs ?? 1000);
    this.retry.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const clients = [this.client, this.connecting];
    this.client = null;
    this.connecting = null;
    this.opts.onListening?.(false);
    for (const c of clients) await c?.end().catch(() => undefined);
  }
}
