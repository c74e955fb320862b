-- Up Migration
-- Reconciliation (SPEC §3 rule 2, §5): a difference between the provider and an account's object
-- is recorded as an event of source `reconcile`, and every run is kept so the daily check can say
-- when reconciliation last ran and how many accounts it corrected.
ALTER TABLE billing_events DROP CONSTRAINT billing_events_source_check;
ALTER TABLE billing_events ADD CONSTRAINT billing_events_source_check
  CHECK (source IN ('stripe', 'myasp', 'api', 'manual', 'timer', 'reconcile'));

CREATE TABLE reconciliation_runs (
  id                 bigserial   PRIMARY KEY,
  -- `stripe` (the API) or `myasp` (an exported member list).
  provider           text        NOT NULL CHECK (provider IN ('stripe', 'myasp')),
  -- `all`, `account:<id>`, or the file a member list came from.
  scope              text        NOT NULL,
  -- Who started it: `schedule`, `cli:<login>`, `workflow`.
  started_by         text        NOT NULL,
  started_at         timestamptz NOT NULL,
  finished_at        timestamptz NOT NULL DEFAULT now(),
  accounts_checked   integer     NOT NULL,
  accounts_corrected integer     NOT NULL,
  events_recorded    integer     NOT NULL,
  errors             integer     NOT NULL,
  -- Per corrected account: the events recorded and the fields that differed.
  summary            jsonb       NOT NULL
);
CREATE INDEX reconciliation_runs_finished_idx ON reconciliation_runs (provider, finished_at DESC);
