// How the CLI talks: tables for people, one JSON document with --json, progress on stderr,
// and every error as one sentence.
import { ConfigError } from '../config';
import { isDatabaseUnavailable } from '../db/pool';
import { isAppError } from '../domain/errors';
import type { CheckItem, CheckStatus } from '../ops/check-item';
import { TemporalConnectionError } from '../temporal/connection-errors';
import { ConnectionSettingsError } from './connection';

/** Exit codes: 0 fine, 1 a check failed or the command was refused, 2 the command could not run. */
export const EXIT = { OK: 0, FAILED: 1, CANNOT_RUN: 2 } as const;

export function writeJson(out: NodeJS.WritableStream, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

export function writeChecks(
  out: NodeJS.WritableStream,
  title: string,
  result: { status: CheckStatus; items: CheckItem[] },
): void {
  out.write(`${title}: ${result.status.toUpperCase()}\n`);
  const width = Math.max(...result.items.map((i) => i.name.length), 4);
  for (const item of result.items)
    out.write(`  ${LABEL[item.status]}  ${item.name.padEnd(width)}  ${item.message}\n`);
}

/** Aligned columns; every cell printed as text, null as "-". */
export function writeTable(out: NodeJS.WritableStream, header: string[], rows: unknown[][]): void {
  const text = (v: unknown): string =>
    v === null || v === undefined
      ? '-'
      : Array.isArray(v)
        ? v.join(',')
        : typeof v === 'string'
          ? v
          : JSON.stringify(v);
  const cells = [header, ...rows.map((r) => r.map(text))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  for (const row of cells)
    out.write(
      `${row
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
}

/**
 * Progress for long commands, on stderr: redrawn in place on a terminal, a line per 10 % when
 * piped to a file (so logs stay readable).
 */
export function progressReporter(
  err: NodeJS.WritableStream & { isTTY?: boolean },
  label: string,
  unit = 'events',
) {
  let lastTenth = -1;
  let lastDraw = 0;
  return (done: number, total: number): void => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    const line = `${label}: ${done}/${total} ${unit} (${pct}%)`;
    if (err.isTTY) {
      const now = Date.now();
      if (now - lastDraw < 100 && done < total) return;
      lastDraw = now;
      err.write(`\r${line}${done >= total ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor(pct / 10);
    if (tenth !== lastTenth) err.write(`${line}\n`);
    lastTenth = tenth;
  };
}

function connectionProblem(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const detail = e.message && e.message.trim() !== '' ? e.message : (e.code ?? 'no answer');
  return `Cannot reach PostgreSQL (${detail}); is \`npm start\` running, or is DATABASE_URL right?`;
}

/** One sentence for any error; never a stack trace. */
export function describeError(err: unknown): string {
  if (
    err instanceof ConnectionSettingsError ||
    err instanceof TemporalConnectionError ||
    err instanceof ConfigError ||
    isAppError(err)
  )
    return err.message;
  if (isDatabaseUnavailable(err) || (err as { code?: string })?.code === 'ECONNREFUSED')
    return connectionProblem(err);
  const message = err instanceof Error ? err.message : String(err);
  const firstLine = message.split('\n')[0]?.trim() || 'unknown error';
  return `The command failed: ${firstLine}`;
}
