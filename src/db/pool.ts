import pg from 'pg';

// timestamptz as ISO-8601 strings everywhere: the domain compares and stores ISO strings, and
// JSON answers use them as they are. bigint ids stay strings (pg's default).
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (v) => new Date(v).toISOString());

export type Db = pg.Pool | pg.PoolClient;

export interface PoolOptions {
  /** Statement and client-side query timeout: answer before the provider gives up on us. */
  statementTimeoutMs?: number;
  max?: number;
}

export function createPool(databaseUrl: string, opts: PoolOptions = {}): pg.Pool {
  const timeout = opts.statementTimeoutMs ?? 5000;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.max ?? 10,
    connectionTimeoutMillis: timeout,
    statement_timeout: timeout,
    query_timeout: timeout + 1000,
    idleTimeoutMillis: 30_000,
  });
  guardPoolErrors(pool);
  return pool;
}

/**
 * A client losing its connection emits 'error'; with no listener Node rethrows it and the whole
 * process goes down. The pool listens for idle clients, pool.query for the query it runs (once)
 * and withTransaction for its checkout — but when PostgreSQL dies a client can emit twice, or
 * between those windows. Every client therefore keeps a listener of its own for its whole life:
 * the failing query still rejects, and the pool discards the broken client.
 */
export function guardPoolErrors(pool: pg.Pool): void {
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
}

/**
 * Runs `fn` in one transaction on a checked-out client. A checked-out client emits 'error' when
 * its connection dies (PostgreSQL killed, network cut); with no listener Node rethrows that and
 * the whole process (API, worker and all) goes down. So the checkout listens for the whole of its
 * lifetime: the failing query rejects on its own, and a broken client is released with its
 * error so the pool discards it instead of handing it to the next caller.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  opts: { readOnly?: boolean } = {},
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  try {
    // READ ONLY: PostgreSQL refuses any write in it (SQLSTATE 25006), so a read cannot write.
    await client.query(opts.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (!broken) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken ??=
          rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
    }
    broken ??= connectionLost(err);
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/** The error itself when it means the connection is gone (the client must not be reused). */
function connectionLost(err: unknown): Error | undefined {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return undefined;
  const gone = ['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE'];
  if (
    (e.code && gone.includes(e.code)) ||
    /Connection terminated|not queryable/i.test(e.message ?? '')
  )
    return err instanceof Error ? err : new Error(String(e.message));
  return undefined;
}

/** Errors that mean "the database is unreachable or too slow", answered with 503 + Retry-After. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  const codes = [
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'ENOTFOUND',
    '57P01',
    '57P03',
    '57014',
    '53300',
  ];
  if (e.code && codes.includes(e.code)) return true;
  return /timeout|terminat|Connection terminated|connect ECONNREFUSED/i.test(e.message ?? '');
}
