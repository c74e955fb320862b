-- Up Migration
-- Per-account order after a crash: before a webhook's event is handed to its workflow, the
-- account's earlier stored-but-unprocessed events (a process died between commit and signal) are
-- handed over first. This index keeps that look-up to the few pending rows of one account.
CREATE INDEX billing_events_account_pending_idx ON billing_events (account_id, id) WHERE outcome IS NULL;
