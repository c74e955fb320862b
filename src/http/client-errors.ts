// Requests Node's HTTP parser refuses before express sees them: headers larger than the server
// accepts (431) and malformed HTTP (400). They get the same JSON errors as everything else and,
// on the webhook endpoints, the same record in webhook_rejections (SPEC §9).
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { RejectionRecorder } from './rejection-recorder';
import { SECURITY_HEADERS } from './security';

export interface ClientErrorDeps {
  metrics: Pick<Metrics, 'webhooks' | 'rejections'>;
  rejections: Pick<RejectionRecorder, 'record'>;
  logger: Logger;
}

const WEBHOOK_SOURCES: Readonly<Record<string, string>> = {
  '/webhooks/stripe': 'stripe',
  '/webhooks/myasp': 'myasp',
};

interface ParserError extends Error {
  code?: string;
  rawPacket?: Buffer;
}

/** The path of the request line, if the parser got that far; never the query. */
function requestLine(raw: Buffer | undefined): { method: string; path: string } | null {
  if (!raw) return null;
  const firstLine = raw.subarray(0, 2048).toString('latin1').split('\r\n')[0] ?? '';
  const match = /^([A-Z]+) ([^ ?]*)/.exec(firstLine);
  return match ? { method: match[1] ?? '', path: match[2] ?? '' } : null;
}

function refusal(err: ParserError): { status: number; code: string; message: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      code: 'headers_too_large',
      message:
        'The request headers are larger than this server accepts (16 KB in all); send the token and data in the body or a short query, not in headers.',
    };
  }
  return {
    status: 400,
    code: 'malformed_http',
    message: 'The request is not valid HTTP/1.1; check the client or proxy that sends it.',
  };
}

function answer(socket: Duplex, status: number, body: string): void {
  const reason = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  const security = Object.entries(SECURITY_HEADERS)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      security +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function answerClientErrors(server: Server, deps: ClientErrorDeps): void {
  server.on('clientError', (err: ParserError, socket: Duplex) => {
    // A client that went away, or a socket already answered: nothing to say, nothing to record.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const r = refusal(err);
    answer(socket, r.status, JSON.stringify({ error: { code: r.code, message: r.message } }));
    const line = requestLine(err.rawPacket);
    const source = line ? WEBHOOK_SOURCES[line.path] : 'unknown';
    deps.logger.info(
      { code: r.code, status: r.status, method: line?.method, path: line?.path },
      'request refused by the HTTP parser',
    );
    if (!source) return; // not a webhook: nothing to record
    deps.metrics.webhooks.inc({ source, result: 'rejected' });
    deps.metrics.rejections.inc({ source, reason: r.code });
    void deps.rejections.record({
      source,
      http_status: r.status,
      reason: r.code,
      message: r.message,
      content_type: null,
      body_bytes: null,
      body_sha256: null,
      remote_addr: (socket as { remoteAddress?: string }).remoteAddress ?? null,
      details: { parser_error: err.code ?? null },
    });
  });
}
