-- Up Migration
-- A rejection written after a database outage may be retried after its first INSERT committed
-- but its answer was lost with the connection. Each answer carries an id, so it is recorded
-- once however often the write is retried.
ALTER TABLE webhook_rejections ADD COLUMN answer_id uuid;
CREATE UNIQUE INDEX webhook_rejections_answer_idx ON webhook_rejections (answer_id)
  WHERE answer_id IS NOT NULL;
