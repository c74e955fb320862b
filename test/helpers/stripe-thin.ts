// Stripe thin events for tests (event destinations, API 2026-09-30.endive): the notification Stripe
// pushes (`object: "v2.core.event"`, `v1.` + the snapshot type, ISO `created`, `related_object`),
// the full event `GET /v2/core/events/:id` returns (with `snapshot_event`), and the object the
// related URL serves — built from a snapshot event of the same change (test/fixtures/stripe.ts,
// whose objects follow stripe-mock's fixtures3.json shapes).
import type { StripeEventJson } from '../fixtures/stripe';
import { stripeId } from '../fixtures/stripe';
import type { StripeStandin } from './stripe-standin';

type Json = Record<string, unknown>;

const PATHS: Record<string, string> = {
  subscription: 'subscriptions',
  invoice: 'invoices',
  'checkout.session': 'checkout/sessions',
  customer: 'customers',
  subscription_schedule: 'subscription_schedules',
  'entitlements.active_entitlement_summary': 'entitlements/active_entitlements',
};

export interface ThinDelivery {
  /** What Stripe pushes to a thin destination; post it with postStripe (as a string). */
  body: string;
  id: string;
  notification: Json;
  fullEvent: Json;
  object: Json;
}

/** The thin delivery of the change `snapshot` carries; `snapshot.id` is its `snapshot_event`. */
export function thinOf(snapshot: StripeEventJson, o: { id?: string } = {}): ThinDelivery {
  const object = snapshot.data.object;
  const type = String(object.object);
  const id = o.id ?? stripeId('evt_test_thin');
  const notification = {
    id,
    object: 'v2.core.event',
    type: `v1.${snapshot.type}`,
    created: new Date(snapshot.created * 1000).toISOString(),
    livemode: false,
    related_object: {
      id: String(object.id),
      type,
      url: `/v1/${PATHS[type] ?? type}/${String(object.id)}`,
    },
    reason: null,
  };
  const fullEvent = { ...notification, snapshot_event: snapshot.id, changes: {}, data: {} };
  return { body: JSON.stringify(notification), id, notification, fullEvent, object };
}

/**
 * Puts what Stripe holds for the thin delivery into the stand-in: its full event, and the object
 * as it stands at the fetch (`object`, default the snapshot's — pass a newer state to model an
 * object that changed between the event and the fetch).
 */
export function serveThin(standin: StripeStandin, thin: ThinDelivery, object?: Json): void {
  standin.events.set(thin.id, thin.fullEvent);
  const now = object ?? thin.object;
  standin.objects.set(String(now.id), now);
}
