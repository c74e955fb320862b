// Text PostgreSQL cannot store (a NUL, a lone UTF-16 surrogate): refused at the door, so nothing
// jsonb cannot hold gets past body decoding.
import { AppError } from '../../domain/errors';

export function invalidCharacters(where: string): AppError {
  return new AppError(
    'invalid_characters',
    `${where} contains a NUL character (U+0000) or a broken surrogate, which cannot be stored. ` +
      'Remove it and send the request again.',
    400,
  );
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasUnstorableText(text: string): boolean {
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
