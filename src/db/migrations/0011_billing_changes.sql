-- Up Migration
-- Notifications to the host app (SPEC §10). A change is a committed change of an account's
-- visible billing state, written by the same transaction as the projection: numbered per account
-- (seq 1, 2, …, gapless: the writer holds the account's advisory lock), with an id derived from
-- a hash of account and seq. Append-only like billing_events.
-- `xid` is the writing transaction's id: GET /v1/changes returns only rows whose transaction is
-- older than every transaction still running (pg_snapshot_xmin), ordered by (xid, id), so a
-- cursor never passes a row that commits later with a smaller id.
CREATE TABLE billing_changes (
  id          bigserial   PRIMARY KEY,
  account_id  text        NOT NULL,
  seq         bigint      NOT NULL CHECK (seq > 0),
  change_id   text        NOT NULL UNIQUE CHECK (change_id ~ '^chg_[0-9a-f]{32}$'),
  type        text        NOT NULL CHECK (type IN ('billing.status_changed', 'billing.account_updated')),
  previous    jsonb,
  current     jsonb       NOT NULL,
  reason      text        NOT NULL,
  cause       jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  xid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
  UNIQUE (account_id, seq)
);
CREATE INDEX billing_changes_commit_order_idx ON billing_changes (xid, id);
CREATE TRIGGER billing_changes_append_only
  BEFORE UPDATE OR DELETE ON billing_changes
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER billing_changes_no_truncate
  BEFORE TRUNCATE ON billing_changes
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Where the host app is told. The secret signs (Standard Webhooks), so it is kept as given and
-- never returned after the answer that created it (docs/decisions.md, 2026-12-07).
CREATE TABLE notification_endpoints (
  id              text        PRIMARY KEY,
  url             text        NOT NULL,
  secret          text        NOT NULL,
  types           text[],
  source          text        NOT NULL CHECK (source IN ('config', 'api')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  disabled_at     timestamptz,
  disabled_reason text,
  deleted_at      timestamptz
);

-- One message per (endpoint, change), fanned out by the transaction that writes the change; the
-- retry schedule lives here (attempts, next_attempt_at), not in Temporal's history.
CREATE TABLE notification_messages (
  id              bigserial   PRIMARY KEY,
  endpoint_id     text        NOT NULL REFERENCES notification_endpoints (id),
  change_id       text        NOT NULL REFERENCES billing_changes (change_id),
  account_id      text        NOT NULL,
  seq             bigint      NOT NULL,
  attempts        int         NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz,
  last_status     int,
  last_error      text,
  delivered_at    timestamptz,
  failed_at       timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (endpoint_id, change_id)
);
CREATE INDEX notification_messages_pending_idx ON notification_messages (endpoint_id, account_id, seq)
  WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX notification_messages_failed_idx ON notification_messages (endpoint_id, failed_at)
  WHERE failed_at IS NOT NULL;
