import type { ActivityDeps } from './deps';
import { insertAudit, type NewAuditRow } from '../src/db/queries/audit-logs';

/** Audit rows that are not the result of a billing event (gate overrides). */
export function writeAuditLog({ pool }: ActivityDeps) {
  return async (row: NewAuditRow): Promise<void> => {
    await insertAudit(pool, row);
  };
}
