// Durations as operators write them in settings and commands: `90s`, `30m`, `12h`, `3d`, `500ms`,
// ISO-8601 `PT12H` / `P3D`. Pure; the error names only the value, so each caller (a setting, a
// command option, an API field) words its own sentence around it.
import { AppError } from './errors';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIMPLE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const ISO = /^p(?:(\d+)d)?(?:t(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?)?$/;

/**
 * Milliseconds, or null for "no duration" (empty, `none`, `0`). Case and surrounding spaces do
 * not matter. Throws AppError('invalid_duration') for anything else.
 */
export function parseDurationMs(raw: string | undefined): number | null {
  const text = (raw ?? '').trim().toLowerCase();
  if (text === '' || text === 'none' || text === '0') return null;
  const simple = SIMPLE.exec(text);
  if (simple) return Math.round(Number(simple[1]) * (UNIT_MS[simple[2] ?? 'ms'] ?? 1));
  const iso = ISO.exec(text);
  if (iso && text !== 'p' && text !== 'pt') {
    const [, d, h, m, s] = iso.map((v) => Number(v ?? 0));
    return (d ?? 0) * 86_400_000 + (h ?? 0) * 3_600_000 + (m ?? 0) * 60_000 + (s ?? 0) * 1_000;
  }
  throw new AppError(
    'invalid_duration',
    `"${raw ?? ''}" is not a duration; write it like 30s, 5m, 12h, 3d or P3D.`,
  );
}
