// Durations in settings: `90s`, `30m`, `12h`, `3d` or ISO 8601 (`PT12H`, `P3D`).
import { ConfigError } from './errors';

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `90s`, `30m`, `12h`, `3d`, `PT12H`, `P3D`; returns milliseconds, or null for empty/none. */
export function parseDuration(raw: string | undefined): number | null {
  const text = (raw ?? '').trim().toLowerCase();
  if (text === '' || text === 'none' || text === '0') return null;
  const simple = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text);
  if (simple) return Math.round(Number(simple[1]) * (DURATION_UNITS[simple[2] ?? 'ms'] ?? 1));
  const iso = /^p(?:(\d+)d)?(?:t(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?)?$/.exec(text);
  if (iso && text !== 'p' && text !== 'pt') {
    const [, d, h, m, s] = iso.map((v) => Number(v ?? 0));
    return (d ?? 0) * 86_400_000 + (h ?? 0) * 3_600_000 + (m ?? 0) * 60_000 + (s ?? 0) * 1_000;
  }
  throw new ConfigError(
    `PAST_DUE_GRACE "${raw}" is not a duration; use a value like 3d, 72h or P3D, or leave it empty for no grace.`,
  );
}
