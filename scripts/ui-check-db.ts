// What the Temporal UI check compares the history with: each event's outcome and status change
// as the database recorded them (billing_events.outcome, its audit row).
import pg from 'pg';

export interface AppliedRow {
  id: string;
  event_type: string;
  outcome: string;
  from_status: string | null;
  to_status: string | null;
}

export function billingDatabase(databaseUrl: string) {
  return {
    /** Waits (up to 60 s) until every event has an outcome; returns them with their audit rows. */
    async waitForOutcomes(ids: string[]): Promise<AppliedRow[]> {
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
      try {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const r = await pool.query<AppliedRow>(
            `SELECT e.id::text AS id, e.event_type, e.outcome, a.from_status, a.to_status
               FROM billing_events e LEFT JOIN audit_logs a ON a.event_id = e.id
              WHERE e.id = ANY($1::bigint[]) AND e.outcome IS NOT NULL ORDER BY e.id`,
            [ids],
          );
          if (r.rows.length === ids.length) return r.rows;
          if (Date.now() > deadline) {
            throw new Error(
              `Only ${r.rows.length} of ${ids.length} events were processed in 60 s.`,
            );
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      } finally {
        await pool.end();
      }
    },
  };
}
