// The one rule for account ids, on every path that names an account: the admin API, Stripe
// (metadata.account_id, client_reference_id, `stripe:<customer>`), MyASP (`myasp:<user id>`) and
// operator corrections. An account id becomes the workflow id `billing-account:<id>`, and Temporal
// refuses workflow ids over 1,000 bytes: 200 characters (at most 800 bytes of UTF-8) always fit,
// with room to spare. An id that breaks the rule is refused before anything is stored, so it can
// never become an event that no workflow will take.
import { AppError } from './errors';

export const ACCOUNT_ID_MAX_LENGTH = 200;

/** The account of a provider's events that name no account, customer or user. */
export const unattributedAccountId = (source: string): string => `${source}:unattributed`;

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function hasControlCharacter(value: string): boolean {
  return CONTROL_CHARACTER.test(value);
}

/** Characters as people count them (code points), not UTF-16 units. */
function lengthOf(value: string): number {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
}

/** Why `id` cannot be an account id, as the end of a sentence; null when it can. */
export function accountIdProblem(id: string): string | null {
  if (id.trim() === '') return 'is empty';
  const length = lengthOf(id);
  if (length > ACCOUNT_ID_MAX_LENGTH)
    return `is ${length.toLocaleString('en-US')} characters long; the limit is ${ACCOUNT_ID_MAX_LENGTH}`;
  if (hasControlCharacter(id)) return 'contains a control character (a line break, tab or NUL)';
  if (LONE_SURROGATE.test(id)) return 'contains a broken character (a lone UTF-16 surrogate)';
  return null;
}

/**
 * The id, or an AppError 400 `invalid_account_id`. `from` names where the id came from, for the
 * sender to fix it there; the id itself is never echoed (it may be huge).
 */
export function checkAccountId(id: string, from: string): string {
  const problem = accountIdProblem(id);
  if (problem === null) return id;
  throw new AppError(
    'invalid_account_id',
    `The account id from ${from} ${problem}. Account ids are 1 to ${ACCOUNT_ID_MAX_LENGTH} characters without control characters; fix it at the source and send again.`,
    400,
    { from },
  );
}
