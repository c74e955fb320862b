-- Up Migration
-- Released as the second half of a migration named 0006_ops_thresholds_and_payload_archive, a
-- rename of the released 0006_ops_thresholds: a database migrated before the rename recorded the
-- old name and never ran this part. src/db/migrate.ts records the combined name as these two
-- (docs/decisions.md, 2026-12-07).
-- Archiving billing_events by month (the checklist's monthly 肥大化 check and its "archive later").
-- The bulk of billing_events is the provider's raw payload. `npm run ops -- archive-events
-- <YYYY-MM>` moves the payloads of a closed month's processed events into this table; each
-- billing_events row stays where it is (ids, dedupe_key, normalized data, outcome), so dedupe,
-- integrity, rebuild and every foreign key keep seeing every event, and its payload becomes a
-- stub naming the month. Nothing is deleted: the database itself allows the stub only when this
-- table holds the identical payload, and this table is append-only.
CREATE TABLE billing_event_payloads_archive (
  event_id    bigint      PRIMARY KEY REFERENCES billing_events (id),
  month       text        NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  payload     jsonb       NOT NULL,
  archived_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_event_payloads_archive_month_idx ON billing_event_payloads_archive (month);
CREATE TRIGGER billing_event_payloads_archive_append_only
  BEFORE UPDATE OR DELETE ON billing_event_payloads_archive
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER billing_event_payloads_archive_no_truncate
  BEFORE TRUNCATE ON billing_event_payloads_archive
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The stub left in billing_events.payload: where the payload went, plus the provider's own ids
-- (`id`, `event_id`) that answers and gate messages quote.
CREATE FUNCTION billing_event_payload_stub(payload jsonb, month text) RETURNS jsonb
  LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object(
    '$archived', jsonb_build_object('table', 'billing_event_payloads_archive', 'month', month),
    'id', payload -> 'id', 'event_id', payload -> 'event_id'))
$$;

-- billing_events stays append-only; besides writing the outcome once, the one UPDATE allowed is
-- replacing a processed event's payload by its stub, once, when the archive holds that payload.
CREATE OR REPLACE FUNCTION billing_events_write_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.outcome IS NULL AND NEW.outcome IS NOT NULL
     AND (NEW.id, NEW.source, NEW.dedupe_key, NEW.event_type, NEW.account_id, NEW.occurred_at,
          NEW.received_at, NEW.object_key, NEW.payload, NEW.data)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.source, OLD.dedupe_key, OLD.event_type, OLD.account_id, OLD.occurred_at,
          OLD.received_at, OLD.object_key, OLD.payload, OLD.data) THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.outcome IS NOT NULL AND NOT (OLD.payload ? '$archived')
     AND (NEW.id, NEW.source, NEW.dedupe_key, NEW.event_type, NEW.account_id, NEW.occurred_at,
          NEW.received_at, NEW.object_key, NEW.data, NEW.outcome, NEW.processed_at, NEW.processed_seq)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.source, OLD.dedupe_key, OLD.event_type, OLD.account_id, OLD.occurred_at,
          OLD.received_at, OLD.object_key, OLD.data, OLD.outcome, OLD.processed_at, OLD.processed_seq)
     AND EXISTS (SELECT 1 FROM billing_event_payloads_archive a
                  WHERE a.event_id = OLD.id AND a.payload = OLD.payload
                    AND NEW.payload = billing_event_payload_stub(OLD.payload, a.month)) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'billing_events is append-only: % is not allowed (only the outcome is written, once, and a processed payload is moved to the archive, once)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Every event with its payload, wherever the payload lives now: query this instead of
-- billing_events when the raw payload matters.
CREATE VIEW billing_events_full AS
  SELECT e.id, e.source, e.dedupe_key, e.event_type, e.account_id, e.occurred_at, e.received_at,
         e.object_key, COALESCE(a.payload, e.payload) AS payload, e.data, e.outcome,
         e.processed_at, e.processed_seq, a.month AS archived_month, a.archived_at
    FROM billing_events e LEFT JOIN billing_event_payloads_archive a ON a.event_id = e.id;
