import type pg from 'pg';
import type { Config } from '../config';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { BillingTemporal } from '../temporal/client';
import type { EventDelivery } from '../temporal/delivery';

export interface AppDeps {
  config: Config;
  pool: pg.Pool;
  temporal: BillingTemporal;
  delivery: EventDelivery;
  metrics: Metrics;
  logger: Logger;
  now?: () => Date;
}

export function nowOf(deps: AppDeps): Date {
  return deps.now?.() ?? new Date();
}
