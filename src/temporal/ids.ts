/** The one workflow per account (SPEC §1). */
export function accountWorkflowId(accountId: string): string {
  return `billing-account:${accountId}`;
}

export function overrideWorkflowId(overrideId: string): string {
  return `gate-override:${overrideId}`;
}

export const DAILY_CHECK_SCHEDULE_ID = 'billing-daily-check';
