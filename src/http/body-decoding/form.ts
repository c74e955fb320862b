// application/x-www-form-urlencoded webhook bodies (MyASP): split and percent-decoded as bytes,
// then decoded in the declared charset. Japanese form encodings are decoded correctly or refused
// clearly (SPEC §9), never stored as mojibake.
import { AppError } from '../../domain/errors';
import {
  type Charset,
  CHARSETS,
  decodeUtf8,
  normalizeCharsetName,
  quoteForMessage,
  UTF8,
} from './charsets';
import { hasUnstorableText, invalidCharacters } from './unstorable-text';

export interface FormDecodingOptions {
  /** More fields than this → 400 too_many_fields. Default 50. */
  maxFields?: number;
  /**
   * Keys whose repeated occurrences must agree (e.g. the MyASP field names): `status=1&status=4`
   * is refused with 400 conflicting_fields instead of silently picking one.
   */
  rejectConflictingDuplicates?: readonly string[];
}

const DEFAULT_MAX_FIELDS = 50;

function lookupFormCharset(declared: string | null): Charset {
  const charset = CHARSETS.get(normalizeCharsetName(declared) ?? 'utf-8');
  if (charset) return charset;
  throw new AppError(
    'unsupported_charset',
    `The charset ${quoteForMessage(declared ?? '')} is not supported for form bodies. ` +
      'Send UTF-8, or declare charset=Shift_JIS or charset=EUC-JP in the Content-Type header.',
    415,
  );
}

const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const PLUS = 0x2b;
const PERCENT = 0x25;
const SPACE = 0x20;

interface RawField {
  /** 1-based position in the body, for error messages that must not echo values. */
  position: number;
  key: Uint8Array;
  value: Uint8Array;
}

function hexDigit(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

function malformedEscape(position: number): AppError {
  return new AppError(
    'malformed_form',
    `Form field #${position} has a malformed percent escape: every % must be followed by two ` +
      'hexadecimal digits. Percent-encode a literal % as %25.',
    400,
    { field_position: position },
  );
}

/** `+` → space and `%XY` → one byte. Works on bytes so the charset is applied afterwards. */
function percentDecode(bytes: Uint8Array, position: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === PERCENT) {
      const high = hexDigit(bytes[i + 1]);
      const low = hexDigit(bytes[i + 2]);
      if (high < 0 || low < 0) throw malformedEscape(position);
      out[length++] = high * 16 + low;
      i += 2;
    } else {
      out[length++] = byte === PLUS ? SPACE : byte;
    }
  }
  return out.subarray(0, length);
}

function tooManyFields(maxFields: number): AppError {
  return new AppError(
    'too_many_fields',
    `The form body has more than ${maxFields} fields. Send only the fields the webhook needs.`,
    400,
    { max_fields: maxFields },
  );
}

// Splitting on raw bytes is safe for every supported charset: the trail bytes of Shift_JIS
// (0x40–0xFC) and all EUC-JP bytes (≥ 0xA1) never equal `&`, `=`, `+` or `%`.
function splitFields(body: Uint8Array, maxFields: number): RawField[] {
  const fields: RawField[] = [];
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(AMPERSAND, start);
    if (end === -1) end = body.length;
    if (end > start) {
      if (fields.length === maxFields) throw tooManyFields(maxFields);
      const piece = body.subarray(start, end);
      const equals = piece.indexOf(EQUALS);
      const position = fields.length + 1;
      const key = equals === -1 ? piece : piece.subarray(0, equals);
      const value = equals === -1 ? new Uint8Array(0) : piece.subarray(equals + 1);
      fields.push({
        position,
        key: percentDecode(key, position),
        value: percentDecode(value, position),
      });
    }
    start = end + 1;
  }
  return fields;
}

function isAscii(bytes: Uint8Array): boolean {
  return bytes.every((b) => b < 0x80);
}

/**
 * A UTF-8 body declared as Shift_JIS usually decodes without a single error — into mojibake
 * (縺ｫ…). So when every non-ASCII field is valid UTF-8 and at least one holds a 3- or 4-byte
 * sequence (all kana and kanji do), the declaration is refused. Real Shift_JIS text with several
 * Japanese characters is practically never valid UTF-8 as well; if it ever is, the sender gets a
 * clear 400, not silently garbled data.
 */
function rejectUtf8DeclaredAsLegacy(fields: RawField[], charset: Charset): void {
  if (!charset.legacyJapanese) return;
  const nonAscii = fields.flatMap((f) => [f.key, f.value]).filter((bytes) => !isAscii(bytes));
  const allUtf8 = nonAscii.every((bytes) => decodeUtf8(bytes) !== null);
  const hasWideUtf8 = nonAscii.some((bytes) => bytes.some((b) => b >= 0xe0));
  if (nonAscii.length === 0 || !allUtf8 || !hasWideUtf8) return;
  throw new AppError(
    'invalid_encoding',
    `The form body was declared ${charset.label} but its bytes are UTF-8; decoding them as ` +
      `${charset.label} would garble the text. If the webhook URL registered in MyASP ends in ` +
      `&charset=${charset.label}, remove that; or declare charset=UTF-8 in the Content-Type header.`,
    400,
    { declared_charset: charset.label },
  );
}

function describeField(name: string | null, position: number): string {
  return name !== null && /^[\w.-]{1,40}$/.test(name) ? `"${name}"` : `#${position}`;
}

function invalidEncoding(charset: Charset, field: string): AppError {
  const advice =
    charset === UTF8
      ? 'MyASP sends Shift_JIS: add &charset=Shift_JIS to the webhook URL registered in MyASP ' +
        '(…/webhooks/myasp?token=…&charset=Shift_JIS), or declare it in the header ' +
        '"Content-Type: application/x-www-form-urlencoded; charset=Shift_JIS".'
      : 'Declare the charset the sender really uses in the Content-Type header (e.g. charset=UTF-8).';
  return new AppError(
    'invalid_encoding',
    `Form field ${field} is not valid ${charset.label}. ${advice}`,
    400,
    { declared_charset: charset.label },
  );
}

function decodeField(field: RawField, charset: Charset): [string, string] {
  const key = charset.decode(field.key);
  if (key === null) throw invalidEncoding(charset, describeField(null, field.position));
  const value = charset.decode(field.value);
  if (value === null) throw invalidEncoding(charset, describeField(key, field.position));
  if (hasUnstorableText(key) || hasUnstorableText(value)) {
    throw invalidCharacters(`Form field ${describeField(key, field.position)}`);
  }
  return [key, value];
}

function conflictingFields(key: string): AppError {
  return new AppError(
    'conflicting_fields',
    `The form field ${describeField(key, 0)} appears more than once with different values. ` +
      'Send it once.',
    400,
    { field: key },
  );
}

/**
 * Duplicate keys: the last occurrence wins. That is what PHP's $_POST does, and MyASP
 * integrations are usually written and tested against PHP, so it is what a MyASP operator
 * expects. For keys listed in `strictKeys` (the fields that decide billing) disagreeing
 * duplicates are refused instead, because picking either value could apply the wrong status.
 */
function collectFields(
  entries: [string, string][],
  strictKeys: readonly string[],
): Record<string, string> {
  const fields = new Map<string, string>();
  for (const [key, value] of entries) {
    const previous = fields.get(key);
    if (previous !== undefined && previous !== value && strictKeys.includes(key)) {
      throw conflictingFields(key);
    }
    fields.set(key, value);
  }
  // Object.fromEntries defines own properties, so a `__proto__` field stays a plain field.
  return Object.fromEntries(fields);
}

export function decodeFormBody(
  body: Buffer,
  charset: string | null,
  opts: FormDecodingOptions = {},
): Record<string, string> {
  const declared = lookupFormCharset(charset);
  const raw = splitFields(body, opts.maxFields ?? DEFAULT_MAX_FIELDS);
  rejectUtf8DeclaredAsLegacy(raw, declared);
  const entries = raw.map((field) => decodeField(field, declared));
  return collectFields(entries, opts.rejectConflictingDuplicates ?? []);
}
