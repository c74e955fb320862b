import type pg from 'pg';

import type { Config } from '../config';
import type { EventDelivery } from '../delivery/outbox';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { BillingTemporal } from '../temporal/client';
import type { RejectionRecorder } from './rejection-recorder';
import type { WindowCounter } from './security';

export interface AppDeps {
  config: Config;
  pool: pg.Pool;
  temporal: BillingTemporal;
  delivery: EventDelivery;
  /** Fetches Stripe thin events after their 200; null without STRIPE_API_KEY (they wait). */
  thinEvents?: { poke(): void } | null;
  metrics: Metrics;
  /** webhook_rejections, with a buffer for answers given while PostgreSQL is down. */
  rejections: RejectionRecorder;
  logger: Logger;
  /** The Temporal Web UI, for links from the /ops page (known when the service started it). */
  temporalUiUrl?: string | null;
  /**
   * The database's address, for work that runs on worker threads with connections of their own
   * (the /ops page's what-if), off the API's event loop.
   */
  databaseUrl?: string | null;
  now?: () => Date;
  /** Failed authentications per client address (createApp makes one from the config). */
  authFailures?: WindowCounter;
}

export function nowOf(deps: AppDeps): Date {
  return deps.now?.() ?? new Date();
}
