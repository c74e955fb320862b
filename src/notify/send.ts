// One POST of a signed notification. Redirects are not followed (a 3xx is an answer like any
// other), the answer's body is not read beyond a little, and the connection goes only to an
// address the policy allows (checked on what the name resolves to, at connect time).
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';

import { isPrivateAddress } from './address-policy';

export interface PostResult {
  /** HTTP status, or null when no answer came. */
  status: number | null;
  retryAfter: string | null;
  /** Why no answer came (or what a non-2xx said, briefly), for the operator. */
  error: string | null;
}

export interface PostOptions {
  allowPrivate: boolean;
  timeoutMs: number;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

/** dns.lookup that refuses private addresses (unless allowed). */
function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses;
      const refused = allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (refused) {
        const e: NodeJS.ErrnoException = new Error(
          `${hostname} resolves to a loopback or private address (${refused.address}); set NOTIFY_ALLOW_PRIVATE=true to allow it.`,
        );
        e.code = 'EADDRNOTALLOWED';
        return callback(e, []);
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`${hostname} did not resolve.`), []);
      callback(null, first.address, first.family);
    });
  };
}

export function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: PostOptions,
): Promise<PostResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: PostResult) => {
      if (done) return;
      done = true;
      resolve(r);
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return finish({ status: null, retryAfter: null, error: 'the endpoint URL is not valid.' });
    }
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body).toString(),
          'user-agent': 'billing-orchestrator-notifications',
          ...headers,
        },
        lookup: guardedLookup(opts.allowPrivate),
        timeout: opts.timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < 200) text += chunk;
        });
        res.on('end', () => {
          const status = res.statusCode ?? null;
          const ok = status !== null && status >= 200 && status < 300;
          const retryAfter = res.headers['retry-after'];
          finish({
            status,
            retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
            error: ok ? null : `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`,
          });
        });
        res.on('error', (err) =>
          finish({ status: res.statusCode ?? null, retryAfter: null, error: err.message }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err) => finish({ status: null, retryAfter: null, error: err.message }));
    req.end(body);
  });
}
