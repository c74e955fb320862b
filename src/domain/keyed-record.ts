// Records keyed by provider ids (a subscription per `sub_…`, a version per `stripe:sub_…`) are
// built as null-prototype objects. V8 gives every new set of keys of an ordinary object its own
// hidden class, so folding over thousands of accounts, each with ids of its own, spent much of its
// time making hidden classes; a null-prototype object is a hash table from the start. The keys,
// their order and the JSON are the same. Pure: imported by workflow code.

/** A copy of `from` (or an empty record) that `set` then extends without new hidden classes. */
export function keyedRecord<T>(from?: Readonly<Record<string, T>>): Record<string, T> {
  const record = Object.create(null) as Record<string, T>;
  if (from) for (const key of Object.keys(from)) record[key] = from[key] as T;
  return record;
}

/** `{ ...from, [key]: value }`, as a keyed record. */
export function withKey<T>(
  from: Readonly<Record<string, T>>,
  key: string,
  value: T,
): Record<string, T> {
  const record = keyedRecord(from);
  record[key] = value;
  return record;
}
