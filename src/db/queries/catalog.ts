// PostgreSQL's own catalog: what the integrity check asks about the tables themselves.
import type { Db } from '../pool';

export interface TableTrigger {
  table: string;
  name: string;
  /** pg_trigger.tgtype bit mask: 1 row, 2 before, 4 insert, 8 delete, 16 update, 32 truncate. */
  type: number;
  enabled: boolean;
}

/** User triggers on the given tables, as the catalog has them. */
export async function tableTriggers(db: Db, tables: string[]): Promise<TableTrigger[]> {
  const r = await db.query<TableTrigger>(
    `SELECT c.relname AS table, t.tgname AS name, t.tgtype::int AS type, t.tgenabled <> 'D' AS enabled
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE NOT t.tgisinternal AND c.oid = ANY (SELECT to_regclass(x)::oid FROM unnest($1::text[]) AS x)
      ORDER BY c.relname, t.tgname`,
    [tables],
  );
  return r.rows;
}
