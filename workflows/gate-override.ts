// A gate override's expiry: a durable timer, not a cron. Cleared early by a signal.
import { condition, setHandler } from '@temporalio/workflow';

import { overrideClearedSignal } from './messages';
import { overrideDb } from './proxies';

export interface GateOverrideInput {
  override_id: string;
  expires_at: string;
}

export async function gateOverrideWorkflow(
  input: GateOverrideInput,
): Promise<'expired' | 'cleared'> {
  let cleared = false;
  setHandler(overrideClearedSignal, () => {
    cleared = true;
  });
  const untilExpiry = Math.max(1, Date.parse(input.expires_at) - Date.now());
  if (await condition(() => cleared, untilExpiry)) return 'cleared';
  await overrideDb.expireOverride(input.override_id);
  return 'expired';
}
