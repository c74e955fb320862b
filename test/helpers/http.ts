// Posting webhooks the way the providers do.
import { type StripeEventJson, toBody } from '../fixtures/stripe';
import { SECRETS } from './secrets';
import { type SignOptions, signStripePayload } from './stripe-signing';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { text };
  }
  return { status: res.status, body, headers: res.headers };
}

export async function postStripe(
  baseUrl: string,
  event: StripeEventJson | string,
  opts: SignOptions & { secret?: string; signature?: string | null; contentType?: string } = {},
): Promise<Answer> {
  const body = typeof event === 'string' ? event : toBody(event);
  const signature =
    opts.signature === undefined
      ? signStripePayload(body, opts.secret ?? SECRETS.stripe, opts)
      : opts.signature;
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? 'application/json; charset=utf-8',
  };
  if (signature !== null) headers['stripe-signature'] = signature;
  return answer(await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', headers, body }));
}

export async function postMyasp(
  baseUrl: string,
  body: string | Buffer,
  opts: { token?: string | null; headerToken?: string; contentType?: string; query?: string } = {},
): Promise<Answer> {
  const params = new URLSearchParams(opts.query ?? '');
  const token = opts.token === undefined ? SECRETS.myasp : opts.token;
  if (token !== null) params.set('token', token);
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
  };
  if (opts.headerToken !== undefined) headers['x-myasp-token'] = opts.headerToken;
  const qs = params.toString();
  return answer(
    await fetch(`${baseUrl}/webhooks/myasp${qs ? `?${qs}` : ''}`, {
      method: 'POST',
      headers,
      body,
    }),
  );
}

export async function json(res: Promise<Response>): Promise<Answer> {
  return answer(await res);
}
