// The Content-Type header of a webhook body: its media type and declared charset.

export interface ContentType {
  /** Lower-case `type/subtype`; '' when the header is missing or empty. */
  mediaType: string;
  /** Lower-case charset parameter without quotes; null when not declared. */
  charset: string | null;
}

const PARAMETER = /;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;

export function parseContentType(header: string | undefined): ContentType {
  const text = (header ?? '').trim();
  const semicolon = text.indexOf(';');
  const mediaType = (semicolon === -1 ? text : text.slice(0, semicolon)).trim().toLowerCase();
  let charset: string | null = null;
  for (const match of text.slice(Math.max(semicolon, 0)).matchAll(PARAMETER)) {
    if (match[1]?.toLowerCase() !== 'charset') continue;
    const value = (match[2] ?? '')
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .replace(/\\(.)/g, '$1');
    charset = value.trim().toLowerCase() || null;
  }
  return { mediaType, charset };
}
