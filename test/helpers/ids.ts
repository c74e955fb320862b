// Times and ids for test data: Stripe-style seconds, and labels made unique per run.
import { randomBytes } from 'node:crypto';

/** The current time in whole seconds, as Stripe writes `created`. */
export const nowS = (): number => Math.floor(Date.now() / 1000);

/** `label` with a short random suffix: `acct_1a2b3c`, or `u-1a2b3c` with separator '-'. */
export const uid = (label: string, separator: '_' | '-' = '_'): string =>
  `${label}${separator}${randomBytes(3).toString('hex')}`;

/** An account id for the fault tests: `acct_fault_<label>_<8 hex>`. */
export const faultAccountId = (label: string): string =>
  `acct_fault_${label}_${randomBytes(4).toString('hex')}`;
