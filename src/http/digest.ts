import { createHash } from 'node:crypto';

/** Hex SHA-256 of a string (UTF-8) or of raw bytes. */
export function sha256Hex(input: string | Buffer): string {
  return createHash('sha256').update(input).digest('hex');
}
