// Stripe thin events (event destinations, SPEC §3 rule 11). The notification carries `id`, `type`
// (`v1.` + the snapshot event's type), an ISO `created` and `related_object {id, type, url}`: it is
// stored as a `stripe.thin_event` that waits. Once the full event and the related object are
// fetched, they are read here as the snapshot event of the same change would be — with the fetch
// time as `created`, since the object is as it stands then — and stored as their own event under
// the dedupe key of that snapshot event (`snapshot_event`), so a snapshot delivery of the same
// change and the fetched one apply once, whichever is stored first. Pure.
import type { Json } from './read-json';
import { field, isoFromSeconds, malformed, record, text } from './read-json';

/** The thin notification's fields we keep (stripe-node's `V2.Core.EventNotification`). */
export interface ThinNotification {
  id: string;
  type: string;
  created: string;
  related_object: { id: string; type: string; url: string } | null;
}

interface ThinFields {
  id: string;
  type: string;
  created: string;
  related_object: unknown;
  snapshot_event: string;
}

/** True when the verified body is a thin event notification (`object: "v2.core.event"`). */
export function isThinNotification(payload: unknown): boolean {
  return field<{ object: string }>(record(payload), 'object') === 'v2.core.event';
}

/** The notification as stored; throws AppError('malformed_event') when it lacks what it must carry. */
export function readThinNotification(payload: unknown): ThinNotification {
  const root = record(payload);
  const id = text(field<ThinFields>(root, 'id'));
  if (id === null || !id.startsWith('evt_'))
    throw malformed('A Stripe thin event needs an id starting with "evt_".');
  const type = text(field<ThinFields>(root, 'type'));
  if (type === null) throw malformed('A Stripe thin event needs a type.');
  const created = text(field<ThinFields>(root, 'created'));
  if (created === null || Number.isNaN(Date.parse(created)))
    throw malformed('A Stripe thin event needs created as an ISO-8601 time.');
  const related = record(field<ThinFields>(root, 'related_object'));
  const relatedId = text(field<{ id: string }>(related, 'id'));
  const relatedType = text(field<{ type: string }>(related, 'type'));
  const url = text(field<{ url: string }>(related, 'url'));
  return {
    id,
    type,
    created: new Date(Date.parse(created)).toISOString(),
    related_object:
      relatedId !== null && relatedType !== null && url !== null
        ? { id: relatedId, type: relatedType, url }
        : null,
  };
}

/** The v1 event type a thin event of API v1 resources stands for (`v1.invoice.paid` → `invoice.paid`). */
export function snapshotTypeOf(thinType: string): string {
  return thinType.startsWith('v1.') ? thinType.slice(3) : thinType;
}

/** The full event as `GET /v2/core/events/:id` returns it: what we read of it. */
export function snapshotEventIdOf(fullEvent: unknown): string | null {
  const id = text(field<ThinFields>(record(fullEvent), 'snapshot_event'));
  return id !== null && id.startsWith('evt_') ? id : null;
}

/**
 * The snapshot event (v1 shape) the fetch stands for: the related object as `data.object`, the
 * fetch time as `created`, and the id of the snapshot event of the same change — or, when Stripe
 * names none, `<thin id>_fetched` (its own change, stored once).
 */
export function fetchedSnapshotEvent(input: {
  thin: ThinNotification;
  fullEvent: unknown;
  object: Json;
  fetchedAtSeconds: number;
}): Json {
  const id = snapshotEventIdOf(input.fullEvent) ?? `${input.thin.id}_fetched`;
  if (isoFromSeconds(input.fetchedAtSeconds) === null)
    throw malformed('The fetch time of a thin event is not a time.');
  return {
    id,
    object: 'event',
    type: snapshotTypeOf(input.thin.type),
    created: input.fetchedAtSeconds,
    data: { object: input.object },
    thin_event: input.thin.id,
  };
}
