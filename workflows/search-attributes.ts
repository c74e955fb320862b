// Custom search attributes (SPEC §7): find an account in the Temporal UI by id, status, provider.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const BillingAccountId = defineSearchAttributeKey(
  'BillingAccountId',
  SearchAttributeType.KEYWORD,
);
export const BillingStatus = defineSearchAttributeKey('BillingStatus', SearchAttributeType.KEYWORD);
export const BillingProvider = defineSearchAttributeKey(
  'BillingProvider',
  SearchAttributeType.KEYWORD,
);
export const ScheduledCancelAt = defineSearchAttributeKey(
  'ScheduledCancelAt',
  SearchAttributeType.DATETIME,
);

/** Name → type, as the server registers them (`temporal server start-dev --search-attribute`). */
export const SEARCH_ATTRIBUTES = {
  BillingAccountId: 'Keyword',
  BillingStatus: 'Keyword',
  BillingProvider: 'Keyword',
  ScheduledCancelAt: 'Datetime',
} as const;
