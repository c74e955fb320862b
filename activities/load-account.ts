import { getAccount } from '../src/db/queries/billing-accounts';
import type { AccountState } from '../src/domain/types';
import type { ActivityDeps } from './deps';

/** Reads the projection so a new workflow run resumes from what is committed. */
export function createLoadAccountActivity({ pool }: ActivityDeps) {
  return async (accountId: string): Promise<AccountState | null> => getAccount(pool, accountId);
}
