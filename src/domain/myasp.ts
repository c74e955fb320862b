// MyASP "external system linkage registration" fields → NormalizedEvent, or an AppError (400) a
// MyASP operator can act on. Pure: workflow code imports src/domain, so no Node built-ins here —
// that is why the dedupe digest below is a small self-contained SHA-256.
import { hasControlCharacter } from './account-id';
import { AppError } from './errors';
import type { MyaspStatusChanged, NormalizedEvent } from './types';

export type MyaspStatusCode = MyaspStatusChanged['provider_status'];

/** SPEC §2: 1 registered, 2 stopped, 3 revived, 4 cancelled (raw code kept as provider_status). */
export const MYASP_EVENT_TYPES: Readonly<Record<MyaspStatusCode, string>> = {
  '1': 'myasp.registered',
  '2': 'myasp.stopped',
  '3': 'myasp.revived',
  '4': 'myasp.cancelled',
};

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
type MyaspField = keyof typeof MYASP_FIELD_ALIASES;

/** Every accepted field name; the HTTP layer refuses disagreeing duplicates of these. */
export const MYASP_FIELD_NAMES: readonly string[] = Object.values(MYASP_FIELD_ALIASES).flat();

// `myasp:<user id>` stays well inside the account-id rule (src/domain/account-id.ts).
const MAX_USER_ID_LENGTH = 128;
const MAX_TEXT_LENGTH = 256;
const MAX_EMAIL_LENGTH = 254;
/** A ts this far ahead would make every later real event look stale; refuse it instead. */
const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;
const JAPAN_OFFSET_MINUTES = 9 * 60;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

function fieldError(code: string, field: string, message: string): AppError {
  return new AppError(code, message, 400, { field });
}

// ---------------------------------------------------------------------------------------------
// Reading fields

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

function readOne(
  fields: Record<string, unknown>,
  field: MyaspField,
  invalidCode: string,
): string | null {
  return readValues(fields, field, invalidCode)[0]?.value ?? null;
}

function readUserId(fields: Record<string, unknown>): string {
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
function readText(fields: Record<string, unknown>, field: 'plan' | 'event_id'): string | null {
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

// ---------------------------------------------------------------------------------------------
// Status, amount, email

function isStatusCode(code: string): code is MyaspStatusCode {
  return Object.hasOwn(MYASP_EVENT_TYPES, code);
}

const STATUS_CHOICES = '1 (registered), 2 (stopped), 3 (revived) or 4 (cancelled)';

/** Accepts 1–4 as text or number; NFKC so full-width digits (３) typed in Japan work too. */
function readStatus(fields: Record<string, unknown>): MyaspStatusCode {
  const raw = readOne(fields, 'status', 'invalid_status');
  if (raw === null) {
    throw fieldError(
      'missing_status',
      'status',
      `The status field is missing. Send the MyASP status code: ${STATUS_CHOICES}.`,
    );
  }
  const text = raw.normalize('NFKC');
  if (!/^[+-]?\d+$/.test(text)) {
    throw fieldError(
      'invalid_status',
      'status',
      `The status field must be a MyASP status code: ${STATUS_CHOICES}.`,
    );
  }
  const code = String(Number(text));
  if (!isStatusCode(code)) {
    throw fieldError(
      'unknown_status',
      'status',
      `MyASP status ${code.slice(0, 12)} is unknown. Expected ${STATUS_CHOICES}.`,
    );
  }
  return code;
}

// Yen amounts are whole numbers. Accepted as MyASP screens and Japanese users write them:
// "1980", "1,980" (correct 3-digit grouping only), "¥1,980", "￥1,980", "1,980円", and "\1,980"
// (Shift_JIS 0x5C is the yen sign on Japanese systems but decodes as a backslash). Decimals,
// negatives and "1.980" are refused rather than guessed.
const AMOUNT = /^[¥\\]?\s*(\d{1,3}(?:,\d{3})+|\d+)\s*円?$/;

function readAmount(fields: Record<string, unknown>): number | null {
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
function readEmail(fields: Record<string, unknown>): string | null {
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

// ---------------------------------------------------------------------------------------------
// Timestamps

const MIN_YEAR = 2000;
const MAX_YEAR = 2100;

function fromEpochMs(ms: number): Date | null {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  return year >= MIN_YEAR && year <= MAX_YEAR ? date : null;
}

/** Minutes east of UTC; no offset means Japan time (MyASP is Japanese; Japan has no DST). */
function offsetMinutes(text: string | undefined): number | null {
  if (text === undefined) return JAPAN_OFFSET_MINUTES;
  if (text.toUpperCase() === 'Z') return 0;
  const [, sign, hours, minutes] = /^([+-])(\d{2}):?(\d{2})?$/.exec(text) ?? [];
  const h = Number(hours);
  const m = Number(minutes ?? 0);
  if (sign === undefined || h > 14 || m > 59) return null;
  return (sign === '-' ? -1 : 1) * (h * 60 + m);
}

function isRealDateTime([year, month, day, hour, minute, second]: number[]): boolean {
  if (year === undefined || month === undefined || day === undefined) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return (
    year >= MIN_YEAR &&
    year <= MAX_YEAR &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    (hour ?? 0) <= 23 &&
    (minute ?? 0) <= 59 &&
    (second ?? 0) <= 59
  );
}

// 2026-01-05T10:00:00+09:00, 2026-01-05 10:00:00, 2026/01/05 10:00, 2026/1/5, …Z, …+0900
const DATE_TIME =
  /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function fromDateTime(match: RegExpExecArray): Date | null {
  const parts = [1, 3, 4, 5, 6, 7].map((group) => Number(match[group] ?? 0));
  const millis = Number((match[8] ?? '').padEnd(3, '0').slice(0, 3));
  const offset = offsetMinutes(match[9]);
  if (offset === null || !isRealDateTime(parts)) return null;
  const [year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0] = parts;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset * 60_000);
}

const TIMESTAMP_FORMATS: ReadonlyArray<{
  pattern: RegExp;
  toDate(m: RegExpExecArray): Date | null;
}> = [
  { pattern: /^\d{10}$/, toDate: (m) => fromEpochMs(Number(m[0]) * 1000) },
  { pattern: /^\d{13}$/, toDate: (m) => fromEpochMs(Number(m[0])) },
  { pattern: DATE_TIME, toDate: fromDateTime },
];

/**
 * ISO-8601 (offset optional), `YYYY-MM-DD HH:mm[:ss]`, `YYYY/MM/DD HH:mm[:ss]` (and date only),
 * read as Japan time unless an offset is given; 10-digit unix seconds; 13-digit unix ms.
 * Null for anything else, impossible dates (2026-02-30) and years outside 2000–2100.
 */
export function parseMyaspTimestamp(raw: string): Date | null {
  const text = raw.normalize('NFKC').trim();
  for (const format of TIMESTAMP_FORMATS) {
    const match = format.pattern.exec(text);
    if (match) return format.toDate(match);
  }
  return null;
}

function readOccurredAt(fields: Record<string, unknown>, receivedAt: Date): Date | null {
  const raw = readOne(fields, 'ts', 'invalid_timestamp');
  if (raw === null) return null;
  const date = parseMyaspTimestamp(raw);
  if (date === null) {
    throw fieldError(
      'invalid_timestamp',
      'ts',
      'The ts field is not a timestamp we can read. Send ISO-8601 (2026-01-05T10:00:00+09:00), "2026-01-05 10:00:00" (Japan time) or unix seconds.',
    );
  }
  if (date.getTime() - receivedAt.getTime() > MAX_FUTURE_SKEW_MS) {
    throw fieldError(
      'invalid_timestamp',
      'ts',
      "The ts field is more than a day in the future. Check the sender's clock and time zone.",
    );
  }
  return date;
}

/**
 * Hex SHA-256 of a UTF-8 string, passed in by the caller: the domain imports no Node modules
 * (workflow code imports it), so the HTTP layer hands over `node:crypto`.
 */
export type Digest = (text: string) => string;

interface MyaspInput {
  userId: string;
  status: MyaspStatusCode;
  email: string | null;
  plan: string | null;
  amount: number | null;
  occurredAt: Date | null;
  eventId: string | null;
}

function readMyaspInput(fields: Record<string, unknown>, receivedAt: Date): MyaspInput {
  return {
    userId: readUserId(fields),
    status: readStatus(fields),
    occurredAt: readOccurredAt(fields, receivedAt),
    amount: readAmount(fields),
    email: readEmail(fields),
    plan: readText(fields, 'plan'),
    eventId: readText(fields, 'event_id'),
  };
}

/**
 * `myasp:<event_id>` when the sender names the event. Otherwise `myasp:sha256:<digest>` of the
 * parsed content, so the same post sent twice (a MyASP retry, a double click) is one event, and
 * "1,980" vs 1980 or "2026/01/05 10:00" vs "2026-01-05T01:00:00Z" do not split it. Without ts
 * the content alone cannot tell a retry from a later, genuinely new post (stopped → revived →
 * stopped again), so the receive time truncated to the second joins the content: repeats within
 * the same second collapse, later ones are new events (re-applying the same status is harmless).
 */
function myaspDedupeKey(input: MyaspInput, receivedAt: Date, digest: Digest): string {
  if (input.eventId !== null) return `myasp:${input.eventId}`;
  const receivedSecond =
    input.occurredAt === null
      ? new Date(Math.floor(receivedAt.getTime() / 1000) * 1000).toISOString()
      : null;
  const content = JSON.stringify([
    'myasp-v1',
    input.userId,
    input.status,
    input.plan,
    input.amount,
    input.email,
    input.occurredAt?.toISOString() ?? null,
    receivedSecond,
  ]);
  return `myasp:sha256:${digest(content)}`;
}

/**
 * Fields of a MyASP external-system-linkage POST (form or JSON) → the event we store. Throws
 * AppError 400: missing_user_id, invalid_user_id, conflicting_user_id, missing_status,
 * invalid_status, unknown_status, invalid_timestamp, invalid_amount, invalid_email, invalid_plan,
 * invalid_event_id. `email` wins over `mail` when both are sent.
 */
export function normalizeMyaspFields(
  fields: Record<string, unknown>,
  receivedAt: Date,
  digest: Digest,
): NormalizedEvent {
  const input = readMyaspInput(fields, receivedAt);
  return {
    source: 'myasp',
    dedupe_key: myaspDedupeKey(input, receivedAt, digest),
    event_type: MYASP_EVENT_TYPES[input.status],
    occurred_at: (input.occurredAt ?? receivedAt).toISOString(),
    object_key: `myasp:${input.userId}`,
    data: {
      kind: 'myasp.status_changed',
      myasp_user_id: input.userId,
      provider_status: input.status,
      email: input.email,
      plan: input.plan,
      amount: input.amount,
    },
    account_hint: {
      explicit_account_id: null,
      stripe_customer_id: null,
      myasp_user_id: input.userId,
    },
  };
}
