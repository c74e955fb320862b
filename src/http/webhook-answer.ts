import type { Response } from 'express';

import type { IngestResult } from '../services/ingest';
import type { AppDeps } from './deps';

/**
 * 200 {received, duplicate}: sent only after the event is committed (SPEC §6, §9). `delivery`
 * and `outcome` say how far it got (see DeliveryState): never "applied" before it is.
 */
export function answerIngested(
  res: Response,
  deps: Pick<AppDeps, 'metrics'>,
  source: 'stripe' | 'myasp',
  result: IngestResult,
): void {
  deps.metrics.webhooks.inc({ source, result: result.duplicate ? 'duplicate' : 'accepted' });
  res.status(200).json({
    received: true,
    duplicate: result.duplicate,
    event_id: result.event.id,
    account_id: result.event.account_id,
    delivery: result.delivery,
    outcome: result.outcome,
  });
}
