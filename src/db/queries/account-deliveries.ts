import type { Db } from '../pool';

/** Temporal accepted a wake-up covering the account's events up to `upTo`. */
export async function markAccountWoken(
  db: Db,
  accountId: string,
  upTo: string,
  opts: { resend: boolean },
): Promise<void> {
  await db.query(
    `INSERT INTO account_deliveries (account_id, accepted_up_to, accepted_at)
     VALUES ($1::text, $2::bigint, now())
     ON CONFLICT (account_id) DO UPDATE
       SET accepted_up_to = GREATEST(account_deliveries.accepted_up_to, EXCLUDED.accepted_up_to),
           accepted_at = now(),
           resends = CASE WHEN $3::boolean THEN account_deliveries.resends + 1 ELSE 0 END`,
    [accountId, upTo, opts.resend],
  );
}

export interface AccountToWake {
  account_id: string;
  /** The oldest unprocessed event: a refusal is counted on it, as before delivery was per account. */
  first_id: string;
  last_id: string;
  /** Temporal accepted a wake-up covering all of them, and they are still unprocessed. */
  resend: boolean;
}

/**
 * Accounts with stored, unprocessed, not dead-lettered events older than `minAgeMs` that need a
 * wake-up: none was accepted for the newest of them, or one was, but the events stayed
 * unprocessed for `staleAfterMs` × 2^resends (processing takes moments; this is for a wake-up
 * lost with a Temporal server's state). An account whose oldest event was refused recently backs
 * off (2^attempts s, at most 5 min). Oldest first.
 */
export async function listAccountsToWake(
  db: Db,
  opts: { minAgeMs: number; staleAfterMs: number; limit: number },
): Promise<AccountToWake[]> {
  const r = await db.query<AccountToWake>(
    `WITH pending AS (
       SELECT e.account_id, min(e.id) AS first_id, max(e.id) AS last_id,
              bool_or(d.last_error IS NOT NULL AND d.last_attempt_at >=
                      now() - make_interval(secs => LEAST(300, power(2, LEAST(d.attempts, 8)))))
                AS backing_off
         FROM billing_events e
         LEFT JOIN event_deliveries d ON d.event_id = e.id
        WHERE e.outcome IS NULL
          AND d.dead_at IS NULL
          AND e.received_at < now() - make_interval(secs => $1::double precision / 1000)
        GROUP BY e.account_id
     )
     SELECT p.account_id, p.first_id::text AS first_id, p.last_id::text AS last_id,
            (a.accepted_up_to IS NOT NULL AND p.last_id <= a.accepted_up_to) AS resend
       FROM pending p
       LEFT JOIN account_deliveries a ON a.account_id = p.account_id
      WHERE NOT p.backing_off
        AND (a.account_id IS NULL
             OR p.last_id > a.accepted_up_to
             OR a.accepted_at < now() - make_interval(
                  secs => $2::double precision / 1000 * power(2, LEAST(a.resends, 6))))
      ORDER BY p.first_id
      LIMIT $3::int`,
    [opts.minAgeMs, opts.staleAfterMs, opts.limit],
  );
  return r.rows;
}
