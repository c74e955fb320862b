// Reading the service's answers the way an operator would: the projection over /v1, the gate,
// event outcomes and audit rows in SQL, Prometheus counters. Plus MyASP form bodies in UTF-8 and
// Shift_JIS, percent-encoded byte by byte as a browser or MyASP sends them.
import iconv from 'iconv-lite';

import { percentEncode } from './encoding';
import { type Answer, json } from './http';
import type { TestService } from './service';
import { waitFor } from './wait';

export type Row = Record<string, unknown>;

export async function getAccount(svc: TestService, id: string): Promise<Row | null> {
  const r = await json(svc.admin(`/v1/accounts/${encodeURIComponent(id)}`));
  return r.status === 200 ? r.body : null;
}

/** The account's read once it is what the workflow committed: nothing pending folded in. */
function applied(a: Row | null): boolean {
  return a?.pending_events_folded === 0 && (a.deadlines_passed as unknown[]).length === 0;
}

/**
 * Waits until the account's workflow has applied it into `status`. The read answers as if every
 * acknowledged event were applied at once (SPEC §6); this waits for the projection itself.
 */
export function statusBecomes(svc: TestService, id: string, status: string): Promise<Row> {
  return waitFor(
    async () => {
      const a = await getAccount(svc, id);
      return a?.status === status && applied(a) ? a : undefined;
    },
    { what: `${id} to become ${status} in its projection` },
  );
}

/** The event's outcome once its account workflow has processed it. */
export function outcomeOf(svc: TestService, eventId: unknown): Promise<string> {
  return waitFor(
    async () => {
      const r = await svc.db.pool.query<{ outcome: string | null }>(
        'SELECT outcome FROM billing_events WHERE id = $1::bigint',
        [eventId],
      );
      return r.rows[0]?.outcome ?? undefined;
    },
    { what: `event ${String(eventId)} to be processed` },
  );
}

export async function gate(svc: TestService, id: string, action: string): Promise<Row> {
  const r = await json(
    svc.admin(`/v1/gate/${encodeURIComponent(id)}/${encodeURIComponent(action)}`),
  );
  expect(r.status).toBe(200);
  return r.body;
}

export async function auditRows(
  svc: TestService,
  accountId: string,
  action: string,
): Promise<Row[]> {
  const r = await svc.db.pool.query<Row>(
    'SELECT * FROM audit_logs WHERE account_id = $1::text AND action = $2::text ORDER BY id',
    [accountId, action],
  );
  return r.rows;
}

export async function count(
  svc: TestService,
  sql: string,
  params: unknown[] = [],
): Promise<number> {
  const r = await svc.db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (${sql}) q`,
    params,
  );
  return r.rows[0]?.n ?? 0;
}

/** POST /v1/accounts/:id/corrections: a manual event, applied by the account workflow. */
export function correct(
  svc: TestService,
  id: string,
  body: Record<string, unknown>,
): Promise<Answer> {
  return json(
    svc.admin(`/v1/accounts/${encodeURIComponent(id)}/corrections`, {
      method: 'POST',
      body: JSON.stringify(body),
    }),
  );
}

export function register(svc: TestService, body: Record<string, unknown>): Promise<Answer> {
  return json(svc.admin('/v1/accounts', { method: 'POST', body: JSON.stringify(body) }));
}

/** Current values of un-labelled Prometheus counters, e.g. confirm_total. */
export async function counters<N extends string>(
  svc: TestService,
  names: readonly N[],
): Promise<Record<N, number>> {
  const text = await (await fetch(`${svc.baseUrl}/metrics`)).text();
  const values = {} as Record<N, number>;
  for (const name of names) {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!match?.[1]) throw new Error(`metric ${name} is not exposed`);
    values[name] = Number(match[1]);
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// MyASP form bodies

export const ENCODERS = {
  utf8: (text: string) => percentEncode(Buffer.from(text, 'utf8')),
  shiftJis: (text: string) => percentEncode(iconv.encode(text, 'Shift_JIS')),
};

export function myaspForm(
  fields: Record<string, string | number>,
  encode: (t: string) => string = ENCODERS.utf8,
): string {
  return Object.entries(fields)
    .map(([k, v]) => `${encode(k)}=${encode(String(v))}`)
    .join('&');
}

/** A MyASP ts in Japan time without an offset, as MyASP screens write it: "2026-01-05 10:00:00". */
export function japanTime(date: Date): string {
  return new Date(date.getTime() + 9 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

// ---------------------------------------------------------------------------------------------
// Jest's asymmetric matchers are typed `any`; typed as unknown they keep lint's no-unsafe-* quiet.

export const anyString: unknown = expect.any(String);
export const stringContaining = (text: string): unknown => expect.stringContaining(text);
export const stringMatching = (pattern: RegExp): unknown => expect.stringMatching(pattern);
export const objectContaining = (shape: object): unknown => expect.objectContaining(shape);
