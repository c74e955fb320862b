// The receiving half of notifications (SPEC §10), run in the HOST app's process: verify each
// message with the `standardwebhooks` library (the same one the service signs with), drop what
// was already handed over (by webhook-id, and by seq), and hand changes over in seq order per
// account. A gap in seq means the service gave up on a change (it ran out of retries): the missing
// ones are pulled from GET /v1/changes before the newer one is handed over.
import { Webhook } from 'standardwebhooks';

import type { ChangeType, VisibleState } from '../domain/changes';

export type { ChangeType, VisibleState } from '../domain/changes';

/** One change as the host receives it: the message's `data`, with its type and time. */
export interface ReceivedChange {
  type: ChangeType;
  timestamp: string;
  account_id: string;
  seq: number;
  change_id: string;
  previous: VisibleState | null;
  current: VisibleState;
  reason: string;
  cause: { event_id: string; source: string; event_type: string; occurred_at: string } | null;
}

/** Where the host keeps, per account, the last seq it handed over (its own table, ideally). */
export interface SeqStore {
  lastSeq(accountId: string): number | Promise<number>;
  setLastSeq(accountId: string, seq: number): void | Promise<void>;
}

export interface NotificationReceiverOptions {
  /** The endpoint's secret (`whsec_…`), as POST /v1/notification-endpoints or NOTIFY_SECRET gave it. */
  secret: string;
  /** Called once per change, in seq order per account; throw to have the message sent again. */
  onChange: (change: ReceivedChange) => void | Promise<void>;
  /** Default: in memory (a restart hands over again from each account's next message). */
  store?: SeqStore;
  /** To pull changes the service gave up sending: its base URL and a gate (or admin) token. */
  pull?: { baseUrl: string; token: string; fetch?: typeof fetch };
}

export interface ReceiverAnswer {
  status: number;
  body: { received: boolean; duplicate?: boolean; error?: { code: string; message: string } };
}

export class MemorySeqStore implements SeqStore {
  private readonly seqs = new Map<string, number>();
  lastSeq(accountId: string): number {
    return this.seqs.get(accountId) ?? 0;
  }
  setLastSeq(accountId: string, seq: number): void {
    this.seqs.set(accountId, seq);
  }
}

/** Webhook ids seen lately: a re-sent message is acknowledged and not handed over again. */
const RECENT_IDS_KEPT = 10_000;

interface WireChange {
  account_id: string;
  seq: number | string;
  change_id: string;
  type: ChangeType;
  previous: VisibleState | null;
  current: VisibleState;
  reason: string;
  cause: ReceivedChange['cause'];
  created_at?: string;
}

export function createNotificationReceiver(opts: NotificationReceiverOptions) {
  const webhook = new Webhook(opts.secret);
  const store = opts.store ?? new MemorySeqStore();
  const recent = new Set<string>();
  // One account's messages are handed over one at a time, in the order they were accepted.
  const chains = new Map<string, Promise<unknown>>();

  const remember = (id: string) => {
    recent.add(id);
    if (recent.size > RECENT_IDS_KEPT) recent.delete(recent.values().next().value as string);
  };

  async function pullMissing(
    accountId: string,
    after: number,
    before: number,
  ): Promise<ReceivedChange[]> {
    if (!opts.pull) throw new Error('a gap in seq and no pull configured');
    const doFetch = opts.pull.fetch ?? fetch;
    const found: ReceivedChange[] = [];
    let cursor = '';
    for (;;) {
      const url = new URL('/v1/changes', opts.pull.baseUrl);
      url.searchParams.set('account_id', accountId);
      url.searchParams.set('limit', '1000');
      if (cursor) url.searchParams.set('after', cursor);
      const res = await doFetch(url, { headers: { authorization: `Bearer ${opts.pull.token}` } });
      if (!res.ok) throw new Error(`GET /v1/changes answered ${res.status}`);
      const page = (await res.json()) as { changes: WireChange[]; next_cursor: string | null };
      for (const c of page.changes) {
        const seq = Number(c.seq);
        if (seq > after && seq < before) found.push({ ...c, seq, timestamp: c.created_at ?? '' });
      }
      if (page.changes.length === 0 || !page.next_cursor) break;
      cursor = page.next_cursor;
    }
    found.sort((a, b) => a.seq - b.seq);
    if (found.length !== before - after - 1)
      throw new Error('the missing changes are not all committed yet');
    return found;
  }

  async function handOver(change: ReceivedChange): Promise<boolean> {
    const last = await store.lastSeq(change.account_id);
    if (change.seq <= last) return false;
    if (change.seq > last + 1)
      for (const missing of await pullMissing(change.account_id, last, change.seq)) {
        await opts.onChange(missing);
        await store.setLastSeq(change.account_id, missing.seq);
      }
    await opts.onChange(change);
    await store.setLastSeq(change.account_id, change.seq);
    return true;
  }

  /** Verifies and hands over one message: the raw body as received, and its headers. */
  async function receive(
    rawBody: string | Buffer,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<ReceiverAnswer> {
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers))
      if (v !== undefined) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
    let message: { type: ChangeType; timestamp: string; data: WireChange };
    try {
      message = webhook.verify(
        typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8'),
        flat,
      ) as typeof message;
    } catch {
      return {
        status: 401,
        body: {
          received: false,
          error: {
            code: 'invalid_signature',
            message: 'The notification signature does not verify with this endpoint secret.',
          },
        },
      };
    }
    const id = flat['webhook-id'] ?? '';
    if (recent.has(id)) return { status: 200, body: { received: true, duplicate: true } };
    const change: ReceivedChange = {
      ...message.data,
      seq: Number(message.data.seq),
      type: message.type,
      timestamp: message.timestamp,
    };
    const previous = chains.get(change.account_id) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => handOver(change));
    chains.set(change.account_id, run);
    try {
      const handed = await run;
      remember(id);
      return { status: 200, body: { received: true, duplicate: !handed } };
    } catch (err) {
      // Not handed over: answer an error so the service sends it again later.
      return {
        status: 503,
        body: {
          received: false,
          error: {
            code: 'not_handed_over',
            message: err instanceof Error ? err.message : String(err),
          },
        },
      };
    } finally {
      if (chains.get(change.account_id) === run) chains.delete(change.account_id);
    }
  }

  /** An express (or node:http) handler: mount it with a raw body parser, e.g. express.raw(). */
  function handler() {
    return (
      req: { body?: unknown; headers: Record<string, string | string[] | undefined> },
      res: { status(code: number): { json(body: unknown): unknown } },
    ): void => {
      const raw = Buffer.isBuffer(req.body)
        ? req.body
        : typeof req.body === 'string'
          ? req.body
          : '';
      void receive(raw, req.headers).then((a) => res.status(a.status).json(a.body));
    };
  }

  return { receive, handler };
}
