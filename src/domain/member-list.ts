// A MyASP member list export (CSV) read as reconciliation rows: user id, status code, and the
// date the row's status was set when the export has one. Pure: the caller decodes the bytes
// (UTF-8 or Shift_JIS) and says which columns to read.
import type { MyaspStatusCode } from './myasp/status';
import { parseMyaspTimestamp } from './myasp/timestamp';
import type { MemberRow } from './reconcile';

export interface MemberColumns {
  user_id: string;
  status: string;
  /** Optional: without it every row is evidence at the export's time. */
  date: string | null;
}

export interface MemberListProblem {
  /** 1-based line of the file (the header is line 1). */
  line: number;
  message: string;
}

/** RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records.filter((r) => !(r.length === 1 && r[0]?.trim() === ''));
}

const CODES = new Set(['1', '2', '3', '4']);

/** The member rows of a parsed export; rows that cannot be read are problems, never guesses. */
export function readMemberRows(
  records: string[][],
  columns: MemberColumns,
): { rows: MemberRow[]; problems: MemberListProblem[] } {
  const header = (records[0] ?? []).map((h) => h.replace(/^\uFEFF/, '').trim());
  const index = (name: string) => header.indexOf(name);
  const missing = [columns.user_id, columns.status, columns.date]
    .filter((c): c is string => c !== null)
    .filter((c) => index(c) < 0);
  if (missing.length > 0) {
    const message = `The header has no column ${missing.map((m) => `"${m}"`).join(' or ')} (it has ${header.map((h) => `"${h}"`).join(', ')}); name the columns with --user-column, --status-column and --date-column.`;
    return { rows: [], problems: [{ line: 1, message }] };
  }
  const rows: MemberRow[] = [];
  const problems: MemberListProblem[] = [];
  records.slice(1).forEach((record, i) => {
    const line = i + 2;
    const userId = (record[index(columns.user_id)] ?? '').trim();
    const code = String(Number((record[index(columns.status)] ?? '').normalize('NFKC').trim()));
    const rawDate = columns.date === null ? '' : (record[index(columns.date)] ?? '').trim();
    const date = rawDate === '' ? null : parseMyaspTimestamp(rawDate);
    if (userId === '') problems.push({ line, message: 'The user id is empty.' });
    else if (!CODES.has(code))
      problems.push({
        line,
        message: `Status "${record[index(columns.status)] ?? ''}" is not 1, 2, 3 or 4.`,
      });
    else if (rawDate !== '' && date === null)
      problems.push({ line, message: `Date "${rawDate}" is not a date and time.` });
    else
      rows.push({
        user_id: userId,
        code: code as MyaspStatusCode,
        at: date?.toISOString() ?? null,
      });
  });
  return { rows, problems };
}
