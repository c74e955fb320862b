-- Up Migration
-- Dead letters: a stored event that can never reach its workflow (an account id Temporal refuses,
-- an event Temporal keeps rejecting) is set aside instead of being retried forever, so it neither
-- blocks the delivery of other accounts nor hides. The event itself stays in billing_events with
-- outcome NULL; `npm run ops -- dead-letters retry` sends it again.
ALTER TABLE event_deliveries
  -- Failures that name this event (not "Temporal is unavailable"); reaching the limit dead-letters it.
  ADD COLUMN failures integer NOT NULL DEFAULT 0,
  ADD COLUMN dead_at  timestamptz;
CREATE INDEX event_deliveries_dead_idx ON event_deliveries (dead_at) WHERE dead_at IS NOT NULL;
