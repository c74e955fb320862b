// A host app's notification endpoint for tests: a real HTTP server that verifies every message
// with the `standardwebhooks` library and records what arrived. Its answer is set per test (a
// status, Retry-After), so a test can take the receiver "down" and bring it back.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Webhook } from 'standardwebhooks';

export interface ReceivedMessage {
  id: string;
  timestamp: string;
  body: {
    type: string;
    timestamp: string;
    data: { account_id: string; seq: number; change_id: string; [k: string]: unknown };
  };
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Answer this much later (a slow host; a sender killed meanwhile never hears it). */
  delayMs?: number;
}

export interface TestReceiver {
  url: string;
  /** Verified messages answered 2xx, in arrival order. */
  accepted: ReceivedMessage[];
  /** Every attempt (verified), whatever it was answered. */
  attempts: ReceivedMessage[];
  /** Messages whose signature did not verify. */
  unverified: number;
  answer: (msg: ReceivedMessage) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(secret: string): Promise<TestReceiver> {
  const webhook = new Webhook(secret);
  const receiver: TestReceiver = {
    url: '',
    accepted: [],
    attempts: [],
    unverified: 0,
    answer: () => ({ status: 204 }),
    close: () => Promise.resolve(),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: ReceivedMessage['body'];
      try {
        body = webhook.verify(raw, flatten(req.headers)) as ReceivedMessage['body'];
      } catch {
        receiver.unverified += 1;
        res.writeHead(401).end();
        return;
      }
      const msg: ReceivedMessage = {
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        body,
      };
      receiver.attempts.push(msg);
      const a = receiver.answer(msg);
      const reply = () => {
        // Accepted only when the answer reaches a sender still there to hear it.
        if (req.socket.destroyed) return;
        if (a.status >= 200 && a.status < 300) receiver.accepted.push(msg);
        res.writeHead(a.status, a.headers ?? {}).end();
      };
      if (a.delayMs) setTimeout(reply, a.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  receiver.url = `http://127.0.0.1:${port}/billing/notifications`;
  receiver.close = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
  return receiver;
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
}

/** The accepted messages of one account, as their seq numbers in arrival order. */
export function seqsOf(receiver: TestReceiver, accountId: string): number[] {
  return receiver.accepted
    .filter((m) => m.body.data.account_id === accountId)
    .map((m) => m.body.data.seq);
}
