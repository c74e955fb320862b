// A small stateful stand-in for the part of Stripe's API reconciliation uses, behind the same
// stripe-node client the service uses (pointed at it by STRIPE_API_URL). stripe-mock checks our
// requests against Stripe's OpenAPI spec but keeps no state, so the drift scenarios — Stripe holds
// something the webhooks never told us — run here. Bodies are what the test puts in, built from
// stripe-mock's fixtures (test/fixtures/stripe-mock.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;

export interface StandinRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorized: boolean;
}

export class StripeStandin {
  /** The subscriptions Stripe holds, by id. */
  readonly subscriptions = new Map<string, Json>();
  readonly requests: StandinRequest[] = [];
  /** Other objects Stripe holds (invoices, checkout sessions, …), by id: thin events point at them. */
  readonly objects = new Map<string, Json>();
  /** Ids of objects Stripe no longer has: answered 404, whatever the upstream holds. */
  readonly gone = new Set<string>();
  /** The full v2 events (`GET /v2/core/events/:id`), by the thin event's id. */
  readonly events = new Map<string, Json>();
  /** The next this many requests are answered 429 (rate limited). */
  rateLimitNext = 0;
  /** The next this many requests are answered 503 (Stripe down). */
  unavailableNext = 0;
  private server: http.Server | null = null;

  /** `upstream`: a stripe-mock URL that answers the v1 requests this stand-in holds nothing for. */
  constructor(
    private readonly apiKey: string,
    private readonly upstream: string | null = null,
  ) {}

  put(subscription: Json): void {
    this.subscriptions.set(String(subscription.id), subscription);
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://standin');
    const authorized = req.headers.authorization === `Bearer ${this.apiKey}`;
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorized,
    });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, type: string, message: string) =>
      send(status, { error: { type, message } });
    if (!authorized) return error(401, 'invalid_request_error', 'Invalid API Key provided.');
    if (this.rateLimitNext > 0) {
      this.rateLimitNext -= 1;
      return send(
        429,
        { error: { type: 'rate_limit_error', message: 'Too many requests.' } },
        { 'retry-after': '0' },
      );
    }
    if (this.unavailableNext > 0) {
      this.unavailableNext -= 1;
      return send(503, { error: { type: 'api_error', message: 'Service unavailable.' } });
    }
    const v2 = /^\/v2\/core\/events\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && v2) {
      const event = this.events.get(decodeURIComponent(v2[1] ?? ''));
      if (!event) return error(404, 'invalid_request_error', `No such event: '${v2[1]}'`);
      return send(200, event);
    }
    const lastSegment = decodeURIComponent(url.pathname.split('/').pop() ?? '');
    if (this.gone.has(lastSegment))
      return error(404, 'invalid_request_error', `No such object: '${lastSegment}'`);
    const held = this.objects.get(lastSegment);
    if (req.method === 'GET' && held && url.pathname.startsWith('/v1/')) return send(200, held);
    if (this.upstream !== null) return this.forward(req, res);
    if (req.method === 'GET' && url.pathname === '/v1/subscriptions') {
      const customer = url.searchParams.get('customer');
      const limit = Number(url.searchParams.get('limit') ?? 10);
      const after = url.searchParams.get('starting_after');
      const all = [...this.subscriptions.values()].filter((s) => s.customer === customer);
      const start = after ? all.findIndex((s) => s.id === after) + 1 : 0;
      const data = all.slice(start, start + limit);
      return send(200, {
        object: 'list',
        data,
        has_more: start + limit < all.length,
        url: '/v1/subscriptions',
      });
    }
    const one = /^\/v1\/subscriptions\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && one) {
      const sub = this.subscriptions.get(decodeURIComponent(one[1] ?? ''));
      if (!sub) return error(404, 'invalid_request_error', `No such subscription: '${one[1]}'`);
      return send(200, sub);
    }
    return error(
      404,
      'invalid_request_error',
      `Unrecognized request URL (${req.method}: ${url.pathname}).`,
    );
  }

  /** The request as it came, to stripe-mock, and its answer back as it came. */
  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    fetch(`${this.upstream}${req.url ?? '/'}`, {
      method: req.method,
      headers: { authorization: req.headers.authorization ?? '' },
    })
      .then(async (answer) => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(await answer.text());
      })
      .catch((err: unknown) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: String(err) } }));
      });
  }
}
