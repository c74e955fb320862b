-- Up Migration
-- The billing core (SPEC §4–§5). Forward-only: a later change is a new numbered file.

-- Every event we accepted, forever. Append-only: the only UPDATE allowed is writing the
-- outcome once (outcome, processed_at, processed_seq go from NULL to a value together).
CREATE TABLE billing_events (
  id            bigserial PRIMARY KEY,
  source        text        NOT NULL CHECK (source IN ('stripe', 'myasp', 'api', 'manual', 'timer')),
  dedupe_key    text        NOT NULL UNIQUE,
  event_type    text        NOT NULL,
  account_id    text        NOT NULL,
  occurred_at   timestamptz NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  object_key    text,
  payload       jsonb       NOT NULL,
  -- The normalized input the transition reads (src/domain/types.ts EventData).
  data          jsonb       NOT NULL,
  outcome       text        CHECK (outcome IN ('applied', 'duplicate', 'stale', 'ignored', 'rejected')),
  processed_at  timestamptz,
  -- Order in which the account workflows processed events; a rebuild folds in this order.
  processed_seq bigint      UNIQUE,
  CHECK ((outcome IS NULL) = (processed_at IS NULL) AND (outcome IS NULL) = (processed_seq IS NULL))
);
CREATE SEQUENCE billing_events_processed_seq OWNED BY billing_events.processed_seq;
CREATE INDEX billing_events_account_idx ON billing_events (account_id, id);
CREATE INDEX billing_events_received_idx ON billing_events (received_at);
CREATE INDEX billing_events_pending_idx ON billing_events (id) WHERE outcome IS NULL;

CREATE FUNCTION billing_events_write_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.outcome IS NULL AND NEW.outcome IS NOT NULL
     AND (NEW.id, NEW.source, NEW.dedupe_key, NEW.event_type, NEW.account_id, NEW.occurred_at,
          NEW.received_at, NEW.object_key, NEW.payload, NEW.data)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.source, OLD.dedupe_key, OLD.event_type, OLD.account_id, OLD.occurred_at,
          OLD.received_at, OLD.object_key, OLD.payload, OLD.data) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'billing_events is append-only: % is not allowed (only the outcome is written, once)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER billing_events_append_only
  BEFORE UPDATE OR DELETE ON billing_events
  FOR EACH ROW EXECUTE FUNCTION billing_events_write_once();

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER billing_events_no_truncate
  BEFORE TRUNCATE ON billing_events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The projection: one row per account, written only by the account workflow's applyTransition.
CREATE TABLE billing_accounts (
  account_id             text        PRIMARY KEY,
  provider               text        NOT NULL CHECK (provider IN ('stripe', 'myasp', 'none')),
  status                 text        NOT NULL CHECK (status IN ('free', 'early_payment', 'active', 'canceling', 'past_due', 'stopped', 'canceled')),
  provider_status        text,
  plan                   text,
  amount                 bigint,
  email                  text,
  myasp_user_id          text,
  stripe_customer_id     text,
  stripe_subscription_id text,
  trial_end              timestamptz,
  scheduled_cancel_at    timestamptz,
  grace_until            timestamptz,
  status_since           timestamptz,
  status_event_id        bigint      REFERENCES billing_events (id),
  last_event_id          bigint      NOT NULL REFERENCES billing_events (id),
  last_event_ts          timestamptz,
  object_versions        jsonb       NOT NULL DEFAULT '{}',
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_accounts_status_idx ON billing_accounts (status);
CREATE INDEX billing_accounts_customer_idx ON billing_accounts (stripe_customer_id) WHERE stripe_customer_id IS NOT NULL;
CREATE INDEX billing_accounts_myasp_idx ON billing_accounts (myasp_user_id) WHERE myasp_user_id IS NOT NULL;

-- Who did what and why. Append-only.
CREATE TABLE audit_logs (
  id          bigserial   PRIMARY KEY,
  account_id  text        NOT NULL,
  action      text        NOT NULL,
  actor_role  text        NOT NULL CHECK (actor_role IN ('system', 'operator')),
  actor       text        NOT NULL,
  event_id    bigint      REFERENCES billing_events (id),
  from_status text,
  to_status   text,
  details     jsonb       NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_account_idx ON audit_logs (account_id, id);
CREATE UNIQUE INDEX audit_logs_one_per_event_idx ON audit_logs (event_id) WHERE event_id IS NOT NULL;
CREATE TRIGGER audit_logs_append_only
  BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_logs_no_truncate
  BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Every 4xx answer to a webhook, so "it arrived but failed" is answerable from SQL.
-- Never the secret, the token or the body itself: its size and digest only.
CREATE TABLE webhook_rejections (
  id           bigserial   PRIMARY KEY,
  source       text        NOT NULL,
  http_status  integer     NOT NULL,
  reason       text        NOT NULL,
  message      text        NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  content_type text,
  body_bytes   integer,
  body_sha256  text,
  remote_addr  text,
  details      jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX webhook_rejections_received_idx ON webhook_rejections (received_at);

-- Delivery bookkeeping for the sweeper: which stored events reached their workflow.
CREATE TABLE event_deliveries (
  event_id        bigint      PRIMARY KEY REFERENCES billing_events (id),
  attempts        integer     NOT NULL DEFAULT 0,
  last_attempt_at timestamptz,
  last_error      text,
  delivered_at    timestamptz
);

-- Emergency fail-open switches for the gate (SPEC §2). Cleared or expired rows stay for history.
CREATE TABLE gate_overrides (
  id           text        PRIMARY KEY,
  account_id   text,
  actions      text[]      NOT NULL,
  reason       text        NOT NULL,
  created_by   text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  cleared_at   timestamptz,
  cleared_by   text,
  clear_reason text,
  CHECK (expires_at > created_at)
);
CREATE INDEX gate_overrides_live_idx ON gate_overrides (expires_at) WHERE cleared_at IS NULL;

-- Results of the daily check, from the CLI, the API or the Temporal Schedule.
CREATE TABLE daily_check_runs (
  id         bigserial   PRIMARY KEY,
  ran_at     timestamptz NOT NULL DEFAULT now(),
  trigger    text        NOT NULL,
  ok         boolean     NOT NULL,
  result     jsonb       NOT NULL
);
