// MyASP's status codes (SPEC §2) and reading the status field. Pure.
import type { MyaspStatusChanged } from '../types';
import { fieldError, readOne } from './fields';

export type MyaspStatusCode = MyaspStatusChanged['provider_status'];

/** SPEC §2: 1 registered, 2 stopped, 3 revived, 4 cancelled (raw code kept as provider_status). */
export const MYASP_EVENT_TYPES: Readonly<Record<MyaspStatusCode, string>> = {
  '1': 'myasp.registered',
  '2': 'myasp.stopped',
  '3': 'myasp.revived',
  '4': 'myasp.cancelled',
};

function isStatusCode(code: string): code is MyaspStatusCode {
  return Object.hasOwn(MYASP_EVENT_TYPES, code);
}

const STATUS_CHOICES = '1 (registered), 2 (stopped), 3 (revived) or 4 (cancelled)';

/** Accepts 1–4 as text or number; NFKC so full-width digits (３) typed in Japan work too. */
export function readStatus(fields: Record<string, unknown>): MyaspStatusCode {
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
