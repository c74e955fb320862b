// Form bodies byte by byte, as a browser or MyASP sends non-ASCII values.

/** `%XX` for every byte, upper-case hex. */
export function percentEncode(bytes: Uint8Array): string {
  return [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}
