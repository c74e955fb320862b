-- Up Migration
-- Read your writes (SPEC §6): the gate and the account read honour a deadline that has passed
-- while its timer has not fired (a cancel time, a trial end, a grace end). Which deadline comes
-- next is decided from the account's objects (nextTimer), too costly to work out on every gate
-- answer; the workflow stores it with the projection, and a read whose `now` has reached it folds
-- the deadline in with the same rule. NULL: no deadline ahead. Rows written before this migration
-- carry the epoch, so their reads work the deadline out from the objects until the account's
-- workflow next writes the row. The events still waiting for their workflow are found through
-- billing_events_account_pending_idx (0009).
ALTER TABLE billing_accounts ADD COLUMN next_deadline_at timestamptz DEFAULT 'epoch';
