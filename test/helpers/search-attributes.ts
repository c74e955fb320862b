import type { Connection } from '@temporalio/client';

import { registerSearchAttributes as register } from '../../src/temporal/search-attributes';

/**
 * The time-skipping test server refuses undefined search attributes but accepts registering
 * them (it cannot list them back), so workflow tests register the billing ones first — from the
 * same list the dev server and production register.
 */
export async function registerSearchAttributes(
  connection: Connection,
  namespace = 'default',
): Promise<void> {
  await register(connection, namespace);
}
