// What must never appear in a log: the secrets the tests configure and send, and anything shaped
// like a credential or a card. Used on the whole run's logs (test/logs/) and by single tests that
// read their own service's log (fuzz). Findings name the kind and where, never the whole value.
import { SECRETS } from './secrets';

export interface Finding {
  kind: string;
  /** The matched text with all but its first 4 characters masked. */
  masked: string;
  /** 1-based line in the scanned text. */
  line: number;
}

/**
 * The secrets the suite uses, by value. Stripe secrets and API keys are also caught by their
 * shape below; MyASP and admin tokens have none, so they are listed. Tests send truncated
 * tokens too (fuzz, bad-input): a prefix of each token catches those as well.
 */
export const TEST_SECRETS: readonly string[] = [
  SECRETS.stripe,
  SECRETS.stripeOld,
  SECRETS.myasp,
  SECRETS.myasp.slice(0, -6),
  SECRETS.admin,
  SECRETS.admin.slice(0, -6),
  SECRETS.gate,
  SECRETS.gateOld,
  // Wrong tokens tests send on purpose (rejections-recorded, host-app): refused, never logged.
  'wrong-token-in-the-query-0123456789',
  'not-the-admin-token',
];

interface Pattern {
  kind: string;
  regex: RegExp;
  /** A match that is not a leak after all, e.g. an already redacted password. */
  allowed?: (match: RegExpMatchArray) => boolean;
}

const REDACTED = /^(\*+|\[redacted\]|%5Bredacted%5D)$/i;

const PATTERNS: Pattern[] = [
  { kind: 'Stripe webhook secret', regex: /whsec_[A-Za-z0-9]\w*/g },
  { kind: 'Stripe API key', regex: /\b[sr]k_(?:test|live)_[A-Za-z0-9]\w*/g },
  { kind: 'Stripe-Signature value', regex: /\bt=\d+,v1=|\bv1=[0-9a-f]{64}\b/g },
  { kind: 'PEM private key', regex: /-----BEGIN [A-Z ]*PRIVATE KEY-----/g },
  {
    kind: 'password in a URL',
    regex: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:([^\s@/"']+)@/gi,
    allowed: (m) => REDACTED.test(m[1] ?? ''),
  },
  { kind: 'token in a query string', regex: /[?&]token=[^&\s"'#]+/g },
  { kind: 'bearer credential', regex: /\bBearer\s+[A-Za-z0-9._~+/=-]{6,}/g },
  { kind: 'basic credential', regex: /\bBasic\s+[A-Za-z0-9+/]{8,}={0,2}/g },
  {
    kind: 'secret-named field',
    regex: /"(?:token|secret|password|authorization|api_?key)"\s*:\s*"([^"]+)"/gi,
    allowed: (m) => REDACTED.test(m[1] ?? ''),
  },
];

function mask(text: string): string {
  return text.length <= 4 ? '*'.repeat(text.length) : `${text.slice(0, 4)}${'*'.repeat(8)}`;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Everything in `text` that is a known secret, looks like one, or looks like a card number. */
export function findSecrets(text: string, known: readonly string[] = TEST_SECRETS): Finding[] {
  const findings: Finding[] = [];
  const add = (kind: string, value: string, index: number) =>
    findings.push({ kind, masked: mask(value), line: lineAt(text, index) });
  for (const secret of new Set(known)) {
    for (let i = text.indexOf(secret); i >= 0; i = text.indexOf(secret, i + secret.length))
      add('known test secret', secret, i);
  }
  for (const { kind, regex, allowed } of PATTERNS) {
    for (const m of text.matchAll(regex)) if (!allowed?.(m)) add(kind, m[0], m.index);
  }
  for (const { value, index } of cardLikeNumbers(text)) add('card-like number', value, index);
  return findings;
}

/**
 * Runs of 13–19 digits (single spaces or dashes between) that pass the Luhn check. A run must
 * stand alone: one touching a letter or more digits is part of an id (a UUID, a hex string), not
 * a card. Not counted either: 13 digits starting with 1, which is epoch milliseconds (pino's
 * "time"); no card network issues 13-digit numbers starting with 1.
 */
export function cardLikeNumbers(text: string): { value: string; index: number }[] {
  const found: { value: string; index: number }[] = [];
  const run = /(?<!\w|\d[ -])\d(?:[ -]?\d){12,18}(?!\w|[ -]\d)/g;
  for (const m of text.matchAll(run)) {
    const digits = m[0].replace(/\D/g, '');
    if (digits.length === 13 && digits.startsWith('1')) continue;
    if (luhnValid(digits)) found.push({ value: m[0], index: m.index });
  }
  return found;
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}
