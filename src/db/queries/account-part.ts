// One share of the accounts, chosen by a hash of the account id, so whole-table work that is
// independent per account (rebuild-projection's fold) can be split over threads: every account,
// with all of its events and its projection row, falls in exactly one share.

export interface AccountPart {
  /** 0 … count − 1. */
  index: number;
  count: number;
}

/** A non-negative hash of `account_id` in SQL; the share is this modulo the count. */
export const ACCOUNT_PART_HASH = '(hashtext(account_id) & 2147483647)';
