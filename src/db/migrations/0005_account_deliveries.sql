-- Up Migration
-- Delivery is keyed by account: one wake-up of the account workflow applies every stored,
-- unprocessed event of the account, so the outbox records per account what Temporal accepted.
-- The sweeper re-sends only events a wake-up did not cover, or that stay unprocessed long after
-- Temporal accepted the wake-up. Failures and dead letters stay per event (event_deliveries).
CREATE TABLE account_deliveries (
  account_id     text        PRIMARY KEY,
  -- The highest billing_events.id committed before the last accepted wake-up was sent.
  accepted_up_to bigint      NOT NULL,
  accepted_at    timestamptz NOT NULL,
  -- Wake-ups re-sent because the events stayed unprocessed; each doubles the next wait.
  resends        integer     NOT NULL DEFAULT 0
);
