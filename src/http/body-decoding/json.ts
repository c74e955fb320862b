// application/json webhook bodies (Stripe, and MyASP when it sends JSON): UTF-8 only, nesting
// bounded before JSON.parse recurses, and nothing jsonb cannot store.
import { AppError } from '../../domain/errors';
import { CHARSETS, decodeUtf8, normalizeCharsetName, quoteForMessage, UTF8 } from './charsets';
import { containsUnstorableText, invalidCharacters } from './unstorable-text';

export interface JsonDecodingOptions {
  /** Deeper nesting of objects/arrays → 400 too_deeply_nested. Default 32. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 32;

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
