// MyASP timestamps as MyASP screens and Japanese senders write them, read as Japan time unless
// an offset is given. Pure.
import { fieldError, readOne } from './fields';

/** A ts this far ahead would make every later real event look stale; refuse it instead. */
const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;
const JAPAN_OFFSET_MINUTES = 9 * 60;
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

export function readOccurredAt(fields: Record<string, unknown>, receivedAt: Date): Date | null {
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
