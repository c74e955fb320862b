// Reading MyASP's posted fields: each field under its accepted names, one scalar value, limits
// a MyASP operator can act on (AppError 400 naming the field). Pure.
import { hasControlCharacter } from '../account-id';
import { AppError } from '../errors';

/** The fields we read, each under its accepted names, preferred name first. */
export const MYASP_FIELD_ALIASES = {
  user_id: ['user_id', 'myasp_user_id'],
  email: ['email', 'mail'],
  plan: ['plan'],
  amount: ['amount'],
  status: ['status'],
  ts: ['ts'],
  event_id: ['event_id'],
} as const;
export type MyaspField = keyof typeof MYASP_FIELD_ALIASES;

/** Every accepted field name; the HTTP layer refuses disagreeing duplicates of these. */
export const MYASP_FIELD_NAMES: readonly string[] = Object.values(MYASP_FIELD_ALIASES).flat();

// `myasp:<user id>` stays well inside the account-id rule (src/domain/account-id.ts).
const MAX_USER_ID_LENGTH = 128;
const MAX_TEXT_LENGTH = 256;
const MAX_EMAIL_LENGTH = 254;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export function fieldError(code: string, field: string, message: string): AppError {
  return new AppError(code, message, 400, { field });
}

/** Text of a scalar field, trimmed; '' for absent/null; undefined for objects, arrays, booleans. */
function scalarText(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Every non-blank value given under the field's names, in preference order. */
function readValues(
  fields: Record<string, unknown>,
  field: MyaspField,
  invalidCode: string,
): { name: string; value: string }[] {
  const values: { name: string; value: string }[] = [];
  for (const name of MYASP_FIELD_ALIASES[field]) {
    if (!Object.hasOwn(fields, name)) continue;
    const value = scalarText(fields[name]);
    if (value === undefined) {
      throw fieldError(
        invalidCode,
        name,
        `The ${name} field must be a single text or number value.`,
      );
    }
    if (value !== '') values.push({ name, value });
  }
  return values;
}

export function readOne(
  fields: Record<string, unknown>,
  field: MyaspField,
  invalidCode: string,
): string | null {
  return readValues(fields, field, invalidCode)[0]?.value ?? null;
}

export function readUserId(fields: Record<string, unknown>): string {
  const values = readValues(fields, 'user_id', 'invalid_user_id');
  const first = values[0];
  if (!first) {
    throw fieldError(
      'missing_user_id',
      'user_id',
      'The MyASP user id is missing. Send it as the user_id field (or myasp_user_id).',
    );
  }
  if (values.some(({ value }) => value !== first.value)) {
    throw fieldError(
      'conflicting_user_id',
      'user_id',
      'The user_id and myasp_user_id fields disagree. Send one user id.',
    );
  }
  if (first.value.length > MAX_USER_ID_LENGTH || hasControlCharacter(first.value)) {
    throw fieldError(
      'invalid_user_id',
      first.name,
      `The ${first.name} field must be at most ${MAX_USER_ID_LENGTH} characters without control characters.`,
    );
  }
  return first.value;
}

/** Optional free text (plan, event_id): blank → null; too long or control characters → error. */
export function readText(
  fields: Record<string, unknown>,
  field: 'plan' | 'event_id',
): string | null {
  const code = `invalid_${field}`;
  const value = readOne(fields, field, code);
  if (value !== null && (value.length > MAX_TEXT_LENGTH || CONTROL_CHARACTERS.test(value))) {
    throw fieldError(
      code,
      field,
      `The ${field} field must be at most ${MAX_TEXT_LENGTH} characters without control characters.`,
    );
  }
  return value;
}

// Yen amounts are whole numbers. Accepted as MyASP screens and Japanese users write them:
// "1980", "1,980" (correct 3-digit grouping only), "¥1,980", "￥1,980", "1,980円", and "\1,980"
// (Shift_JIS 0x5C is the yen sign on Japanese systems but decodes as a backslash). Decimals,
// negatives and "1.980" are refused rather than guessed.
const AMOUNT = /^[¥\\]?\s*(\d{1,3}(?:,\d{3})+|\d+)\s*円?$/;

export function readAmount(fields: Record<string, unknown>): number | null {
  const raw = readOne(fields, 'amount', 'invalid_amount');
  if (raw === null) return null;
  const digits = AMOUNT.exec(raw.normalize('NFKC'))?.[1];
  const amount = digits === undefined ? NaN : Number(digits.replace(/,/g, ''));
  if (!Number.isSafeInteger(amount)) {
    throw fieldError(
      'invalid_amount',
      'amount',
      'The amount field must be a whole number of yen, e.g. 1980 or 1,980.',
    );
  }
  return amount;
}

/** Lenient on purpose: only clearly broken addresses are refused; the address is kept as sent. */
export function readEmail(fields: Record<string, unknown>): string | null {
  const values = readValues(fields, 'email', 'invalid_email');
  const first = values[0];
  if (!first) return null;
  const at = first.value.lastIndexOf('@');
  const broken =
    first.value.length > MAX_EMAIL_LENGTH ||
    at < 1 ||
    at === first.value.length - 1 ||
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    /[\s\u0000-\u001f\u007f]/.test(first.value);
  if (broken) {
    throw fieldError(
      'invalid_email',
      first.name,
      `The ${first.name} field is not an email address (it needs a name, an @ and a domain, without spaces).`,
    );
  }
  return first.value;
}
