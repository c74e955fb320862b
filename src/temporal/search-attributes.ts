// Registers the workflow's search attributes (declared once, in workflows/search-attributes.ts)
// on a Temporal server: the dev server gets them on its command line, a cluster named by
// TEMPORAL_ADDRESS through the operator API, tests through the same list.
import type { Connection } from '@temporalio/client';
import {
  encodeSearchAttributeIndexedValueType,
  type SearchAttributeType,
} from '@temporalio/common/lib/search-attributes';

import { BILLING_SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';

/** Name → type of every billing search attribute (SPEC §7). */
export const BILLING_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeType>> =
  Object.fromEntries(BILLING_SEARCH_ATTRIBUTE_KEYS.map((key) => [key.name, key.type]));

const CLI_TYPE_NAMES: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** `temporal server start-dev` flags registering them on the dev server. */
export function devServerSearchAttributeArgs(): string[] {
  return searchAttributeCliPairs().flatMap((pair) => [
    '--search-attribute',
    pair.replace(':', '='),
  ]);
}

/** `Name:Type` per attribute, as `temporal operator search-attribute create` takes them. */
export function searchAttributeCliPairs(): string[] {
  return Object.entries(BILLING_SEARCH_ATTRIBUTES).map(
    ([name, type]) => `${name}:${CLI_TYPE_NAMES[type]}`,
  );
}

const GRPC_ALREADY_EXISTS = 6;

function indexedValueType(type: SearchAttributeType) {
  const encoded = encodeSearchAttributeIndexedValueType(type);
  if (encoded === undefined) throw new Error(`unknown search attribute type ${type}`);
  return encoded;
}

/** Registers every billing search attribute on `namespace`. */
export async function registerSearchAttributes(
  connection: Connection,
  namespace: string,
  names: readonly string[] = Object.keys(BILLING_SEARCH_ATTRIBUTES),
): Promise<void> {
  if (names.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        names.map((name) => [name, indexedValueType(BILLING_SEARCH_ATTRIBUTES[name] ?? 'KEYWORD')]),
      ),
    });
  } catch (err) {
    // Another process registered them first.
    if ((err as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw err;
  }
}

/**
 * Registers the billing search attributes on `namespace` where they are missing. The dev server
 * gets them from its command line; a server named by TEMPORAL_ADDRESS needs this once.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([
    ...Object.keys(existing.customAttributes ?? {}),
    ...Object.keys(existing.systemAttributes ?? {}),
  ]);
  const missing = Object.keys(BILLING_SEARCH_ATTRIBUTES).filter((name) => !known.has(name));
  await registerSearchAttributes(connection, namespace, missing);
}
