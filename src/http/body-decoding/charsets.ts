// The charsets a webhook body may declare, each with a decoder that refuses bytes not valid in
// it (instead of producing mojibake), and the labels senders write for them.
import { TextDecoder } from 'node:util';

import iconv from 'iconv-lite';

export interface Charset {
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

export const decodeUtf8 = fatalDecoder('utf-8')!;
const decodeIso2022Jp = fatalDecoder('iso-2022-jp');

export const UTF8: Charset = { label: 'UTF-8', decode: decodeUtf8, legacyJapanese: false };
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

export const CHARSETS: ReadonlyMap<string, Charset> = new Map(
  CHARSET_LABELS.flatMap(([charset, labels]) =>
    charset ? labels.split(' ').map((label) => [label, charset] as const) : [],
  ),
);

export function quoteForMessage(text: string): string {
  return /^[\w.:+-]{1,40}$/.test(text) ? `"${text}"` : '(unprintable)';
}

export function normalizeCharsetName(name: string | null): string | null {
  return name === null ? null : name.trim().toLowerCase();
}
