// The grace setting's duration: parsed by the domain (src/domain/duration.ts), worded here as a
// setting.
import { parseDurationMs } from '../domain/duration';
import { ConfigError } from './errors';

/** `90s`, `30m`, `12h`, `3d`, `PT12H`, `P3D`; returns milliseconds, or null for empty/none. */
export function parseDuration(raw: string | undefined): number | null {
  try {
    return parseDurationMs(raw);
  } catch {
    throw new ConfigError(
      `PAST_DUE_GRACE "${raw}" is not a duration; use a value like 3d, 72h or P3D, or leave it empty for no grace.`,
    );
  }
}
