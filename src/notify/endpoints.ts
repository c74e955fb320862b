// Notification endpoints (SPEC §10): the one NOTIFY_URL configures, and those the admin API
// adds. The secret is generated here and shown once, in the answer that created the endpoint.
import { createHash, randomBytes } from 'node:crypto';

import type pg from 'pg';

import {
  deleteEndpoint,
  type EndpointRow,
  insertEndpoint,
  listEndpoints,
  retireConfiguredEndpoints,
} from '../db/queries/notifications';
import { CHANGE_TYPES } from '../domain/changes';
import { AppError } from '../domain/errors';
import { endpointUrlProblem } from './address-policy';

/**
 * The id of the endpoint NOTIFY_URL configures: from its URL, so a restart keeps it, a new URL is
 * a new endpoint, and two services sharing a Temporal namespace (tests) never share its workflow.
 */
export function configuredEndpointId(url: string): string {
  return `ep_cfg_${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;
}

export function newEndpointSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** NOTIFY_URL / NOTIFY_SECRET into the endpoints table at start-up; removed when unset. */
export async function configureEndpoint(
  pool: pg.Pool,
  endpoint: { url: string; secret: string } | null,
  allowPrivate: boolean,
): Promise<void> {
  const id = endpoint === null ? null : configuredEndpointId(endpoint.url);
  // An earlier NOTIFY_URL's endpoint takes no more messages.
  await retireConfiguredEndpoints(pool, id);
  if (endpoint === null || id === null) return;
  const problem = endpointUrlProblem(endpoint.url, allowPrivate);
  if (problem) throw new Error(`NOTIFY_URL: ${problem}`);
  await insertEndpoint(pool, {
    id,
    url: endpoint.url,
    secret: endpoint.secret,
    types: null,
    source: 'config',
  });
}

export async function createEndpoint(
  pool: pg.Pool,
  input: { url: string; types?: string[] | null },
  allowPrivate: boolean,
): Promise<EndpointRow & { secret: string }> {
  const problem = endpointUrlProblem(input.url, allowPrivate);
  if (problem) throw new AppError('invalid_endpoint_url', problem, 400);
  const unknown = (input.types ?? []).filter(
    (t) => !(CHANGE_TYPES as readonly string[]).includes(t),
  );
  if (unknown.length > 0)
    throw new AppError(
      'invalid_types',
      `types may list ${CHANGE_TYPES.join(' and ')}; ${unknown.join(', ')} is not one of them.`,
      400,
    );
  const secret = newEndpointSecret();
  const row = await insertEndpoint(pool, {
    id: `ep_${randomBytes(8).toString('hex')}`,
    url: input.url,
    secret,
    types: input.types && input.types.length > 0 ? input.types : null,
    source: 'api',
  });
  return { ...row, secret };
}

export async function listNotificationEndpoints(pool: pg.Pool): Promise<EndpointRow[]> {
  return listEndpoints(pool);
}

export async function removeEndpoint(pool: pg.Pool, id: string): Promise<void> {
  if (!(await deleteEndpoint(pool, id)))
    throw new AppError('not_found', `No notification endpoint ${id}.`, 404);
}
