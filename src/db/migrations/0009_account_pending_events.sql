-- Up Migration
-- Per-account order after a crash: a wake-up applies the account's stored, unprocessed events in
-- id order (also those a process left behind when it died between commit and wake-up). This
-- index keeps that look-up to the few pending rows of one account.
CREATE INDEX billing_events_account_pending_idx ON billing_events (account_id, id) WHERE outcome IS NULL;
