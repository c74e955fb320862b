// Reading untrusted Stripe JSON. `field<T>` checks the key against the SDK (or legacy) type at
// compile time and reads only own properties, so "constructor" and friends never leak in. Pure.
import type Stripe from 'stripe';

import { AppError } from '../errors';

export type Json = Readonly<Record<string, unknown>>;

export function field<T>(obj: Json | null, key: Extract<keyof T, string>): unknown {
  return obj !== null && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function record(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : null;
}

export function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

export function whole(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
}

/** An expandable reference: the id string, or the expanded object's id. */
export function idOf(value: unknown): string | null {
  return text(value) ?? text(field<{ id: string }>(record(value), 'id'));
}

/**
 * The Stripe customer an object belongs to: `customer` (an id or the expanded object), else
 * `customer_account` (`acct_…`, an Accounts v2 account acting as the customer on v1 objects).
 */
export function customerOf(obj: Json | null): string | null {
  return (
    idOf(field<{ customer: string }>(obj, 'customer')) ??
    text(field<{ customer_account: string }>(obj, 'customer_account'))
  );
}

/** The records in a Stripe list object (`{object: 'list', data: [...]}`). */
export function listData(value: unknown): Json[] {
  const data = field<Stripe.ApiList<unknown>>(record(value), 'data');
  return Array.isArray(data) ? data.map(record).filter((r): r is Json => r !== null) : [];
}

export function firstOf<T>(items: readonly Json[], pick: (item: Json) => T | null): T | null {
  for (const item of items) {
    const found = pick(item);
    if (found !== null) return found;
  }
  return null;
}

export function accountIdIn(metadata: unknown): string | null {
  return text(field<{ account_id: string }>(record(metadata), 'account_id'))?.trim() ?? null;
}

export function isoFromSeconds(seconds: number): string | null {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function malformed(message: string): AppError {
  return new AppError('malformed_event', message, 400);
}
