// Turns raw webhook bodies (Buffers) into plain values or a clear AppError. Pure: no express, no
// IO. The contract (SPEC §9): Japanese form encodings are decoded correctly or refused clearly,
// never stored as mojibake; nothing PostgreSQL's jsonb cannot hold gets past this file.
import { TextDecoder } from 'node:util';
import iconv from 'iconv-lite';
import { AppError } from '../domain/errors';

export interface ContentType {
  /** Lower-case `type/subtype`; '' when the header is missing or empty. */
  mediaType: string;
  /** Lower-case charset parameter without quotes; null when not declared. */
  charset: string | null;
}

export interface FormDecodingOptions {
  /** More fields than this → 400 too_many_fields. Default 50. */
  maxFields?: number;
  /**
   * Keys whose repeated occurrences must agree (e.g. the MyASP field names): `status=1&status=4`
   * is refused with 400 conflicting_fields instead of silently picking one.
   */
  rejectConflictingDuplicates?: readonly string[];
}

export interface JsonDecodingOptions {
  /** Deeper nesting of objects/arrays → 400 too_deeply_nested. Default 32. */
  maxDepth?: number;
}

const DEFAULT_MAX_FIELDS = 50;
const DEFAULT_MAX_DEPTH = 32;

// ---------------------------------------------------------------------------------------------
// Content-Type

const PARAMETER = /;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;

export function parseContentType(header: string | undefined): ContentType {
  const text = (header ?? '').trim();
  const semicolon = text.indexOf(';');
  const mediaType = (semicolon === -1 ? text : text.slice(0, semicolon)).trim().toLowerCase();
  let charset: string | null = null;
  for (const match of text.slice(Math.max(semicolon, 0)).matchAll(PARAMETER)) {
    if (match[1]?.toLowerCase() !== 'charset') continue;
    const value = (match[2] ?? '')
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .replace(/\\(.)/g, '$1');
    charset = value.trim().toLowerCase() || null;
  }
  return { mediaType, charset };
}

// ---------------------------------------------------------------------------------------------
// Charsets

interface Charset {
  /** Canonical label, as a sender should write it in `charset=`. */
  label: string;
  /** The decoded text, or null when the bytes are not valid in this charset. */
  decode(bytes: Uint8Array): string | null;
  /** Shift_JIS and friends: bytes that are also valid UTF-8 would decode as mojibake. */
  legacyJapanese: boolean;
}

function fatalDecoder(whatwgLabel: string): ((bytes: Uint8Array) => string | null) | null {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(whatwgLabel, { fatal: true });
  } catch {
    return null; // Node built without full ICU: the charset is simply not offered.
  }
  return (bytes) => {
    try {
      return decoder.decode(bytes);
    } catch {
      return null;
    }
  };
}

// iconv-lite never throws: it substitutes U+FFFD for undecodable bytes (and maps the stray byte
// 0x80 to the C1 control U+0080). Either in the output means the bytes were not this charset.
const LEGACY_DECODE_FAILURE = /[\uFFFD\u0080-\u009F]/;

function iconvDecoder(encoding: string): (bytes: Uint8Array) => string | null {
  return (bytes) => {
    const text = iconv.decode(Buffer.from(bytes), encoding);
    return LEGACY_DECODE_FAILURE.test(text) ? null : text;
  };
}

const decodeUtf8 = fatalDecoder('utf-8')!;
const decodeIso2022Jp = fatalDecoder('iso-2022-jp');

const UTF8: Charset = { label: 'UTF-8', decode: decodeUtf8, legacyJapanese: false };
const ASCII: Charset = {
  label: 'US-ASCII',
  decode: (bytes) => (bytes.every((b) => b < 0x80) ? decodeUtf8(bytes) : null),
  legacyJapanese: false,
};
// cp932 (Windows-31J) is a superset of Shift_JIS: ①, ㈱, 髙 and other vendor characters that
// Japanese users really type decode correctly instead of failing.
const SHIFT_JIS: Charset = {
  label: 'Shift_JIS',
  decode: iconvDecoder('cp932'),
  legacyJapanese: true,
};
const EUC_JP: Charset = { label: 'EUC-JP', decode: iconvDecoder('euc-jp'), legacyJapanese: true };
const ISO_2022_JP: Charset | null = decodeIso2022Jp
  ? { label: 'ISO-2022-JP', decode: decodeIso2022Jp, legacyJapanese: true }
  : null;

// Charset labels as senders write them (lower-cased), per charset.
const CHARSET_LABELS: ReadonlyArray<[Charset | null, string]> = [
  [UTF8, 'utf-8 utf8'],
  [ASCII, 'us-ascii ascii'],
  [SHIFT_JIS, 'shift_jis shift-jis sjis x-sjis windows-31j cp932 ms932 ms_kanji csshiftjis'],
  [EUC_JP, 'euc-jp eucjp x-euc-jp'],
  [ISO_2022_JP, 'iso-2022-jp csiso2022jp'],
];

const CHARSETS: ReadonlyMap<string, Charset> = new Map(
  CHARSET_LABELS.flatMap(([charset, labels]) =>
    charset ? labels.split(' ').map((label) => [label, charset] as const) : [],
  ),
);

function quoteForMessage(text: string): string {
  return /^[\w.:+-]{1,40}$/.test(text) ? `"${text}"` : '(unprintable)';
}

function normalizeCharsetName(name: string | null): string | null {
  return name === null ? null : name.trim().toLowerCase();
}

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

// ---------------------------------------------------------------------------------------------
// application/x-www-form-urlencoded

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

function invalidCharacters(where: string): AppError {
  return new AppError(
    'invalid_characters',
    `${where} contains a NUL character (U+0000) or a broken surrogate, which cannot be stored. ` +
      'Remove it and send the request again.',
    400,
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

// ---------------------------------------------------------------------------------------------
// application/json

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]); // [ {
const CLOSERS = new Set([0x5d, 0x7d]); // ] }

/** Linear scan, so a hostile `[[[[…` is refused before JSON.parse recurses into it. */
function exceedsDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (OPENERS.has(c)) {
      if (++depth > maxDepth) return true;
    } else if (CLOSERS.has(c)) {
      depth--;
    }
  }
  return false;
}

function decodeJsonText(body: Buffer, charset: string | null): string {
  const name = normalizeCharsetName(charset);
  if (name !== null && CHARSETS.get(name) !== UTF8) {
    throw new AppError(
      'unsupported_charset',
      `JSON bodies must be UTF-8; the charset ${quoteForMessage(name)} is not supported. ` +
        'Send UTF-8 and declare charset=utf-8 or no charset at all.',
      415,
    );
  }
  const text = decodeUtf8(body); // also drops a leading byte order mark
  if (text !== null) return text;
  throw new AppError(
    'invalid_encoding',
    'The JSON body is not valid UTF-8. Encode it as UTF-8 (JSON does not allow Shift_JIS).',
    400,
    { declared_charset: 'UTF-8' },
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // The parser's own message quotes the body, which may hold personal data: keep it out.
    throw new AppError(
      'malformed_json',
      'The request body is not valid JSON. Check its syntax.',
      400,
    );
  }
}

export function decodeJsonBody(
  body: Buffer,
  charset: string | null,
  opts: JsonDecodingOptions = {},
): unknown {
  const text = decodeJsonText(body, charset);
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (exceedsDepth(text, maxDepth)) {
    throw new AppError(
      'too_deeply_nested',
      `The JSON body nests objects or arrays more than ${maxDepth} levels deep. Flatten it.`,
      400,
      { max_depth: maxDepth },
    );
  }
  const value = parseJson(text);
  if (containsUnstorableText(value)) throw invalidCharacters('The JSON body');
  return value;
}

// ---------------------------------------------------------------------------------------------
// Text PostgreSQL cannot store

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function hasUnstorableText(text: string): boolean {
  return text.includes('\u0000') || LONE_SURROGATE.test(text);
}

/** True when any string or key inside `value` matches. Iterative: no stack overflow on depth. */
function someString(value: unknown, predicate: (text: string) => boolean): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (predicate(item)) return true;
    } else if (Array.isArray(item)) {
      for (const child of item) pending.push(child);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (predicate(key)) return true;
        pending.push(child);
      }
    }
  }
  return false;
}

/** A U+0000 anywhere in a string or key: PostgreSQL jsonb (and text) cannot store it. */
export function containsNul(value: unknown): boolean {
  return someString(value, (text) => text.includes('\u0000'));
}

/**
 * containsNul plus lone UTF-16 surrogates (`"\ud800"` in JSON), which jsonb also rejects. Use
 * this for anything about to be written to a jsonb column.
 */
export function containsUnstorableText(value: unknown): boolean {
  return someString(value, hasUnstorableText);
}
