-- Up Migration
-- The status is derived from every provider object the account has seen (SPEC §3). The projection
-- keeps those objects, the instant the status was derived at, and which object decided it. Rows
-- written before keep NULL objects; the account workflow seeds them from the columns on the next
-- event, and `rebuild-projection --apply` replaces them with the exact objects folded from
-- billing_events.
ALTER TABLE billing_accounts
  ADD COLUMN objects       jsonb,
  ADD COLUMN as_of         timestamptz,
  ADD COLUMN status_object text,
  ADD COLUMN status_reason text;
