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

/** Every billing search attribute: the one list the dev server, tests and production register. */
export const BILLING_SEARCH_ATTRIBUTE_KEYS = [
  BillingAccountId,
  BillingStatus,
  BillingProvider,
  ScheduledCancelAt,
] as const;
