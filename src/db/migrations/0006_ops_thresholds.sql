-- Up Migration
-- The daily check's judgement thresholds (the operations checklist's 異常な状態: registered/active
-- at least 80 %, stopped at most 10 %, …), set by operators with `npm run ops -- thresholds set`.
-- A name without a row uses the default in src/ops/thresholds.ts, so a new threshold needs no
-- migration. Every change keeps who made it and when.
CREATE TABLE daily_check_thresholds (
  name       text             PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$'),
  value      double precision NOT NULL CHECK (value >= 0),
  updated_by text             NOT NULL,
  updated_at timestamptz      NOT NULL DEFAULT now()
);
