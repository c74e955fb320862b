/** The one workflow per account (SPEC §1). */
export function accountWorkflowId(accountId: string): string {
  return `billing-account:${accountId}`;
}

/** Temporal's default limit on a workflow id (`limit.maxIDLength`), counted in bytes. */
export const WORKFLOW_ID_MAX_BYTES = 1000;

/**
 * Why no workflow can ever be started for this account, or null. Only events stored before the
 * account-id rule (src/domain/account-id.ts) existed can hit this: the rule keeps new ids far below.
 */
export function accountWorkflowIdProblem(accountId: string): string | null {
  const bytes = Buffer.byteLength(accountWorkflowId(accountId), 'utf8');
  if (bytes <= WORKFLOW_ID_MAX_BYTES) return null;
  return `The account id is ${accountId.length.toLocaleString('en-US')} characters long: its workflow id would be ${bytes.toLocaleString('en-US')} bytes and Temporal takes at most ${WORKFLOW_ID_MAX_BYTES.toLocaleString('en-US')}, so it can never be delivered. It was stored before account ids were limited to 200 characters.`;
}

export function overrideWorkflowId(overrideId: string): string {
  return `gate-override:${overrideId}`;
}

export const DAILY_CHECK_SCHEDULE_ID = 'billing-daily-check';

/** The daily Stripe reconciliation (created only where STRIPE_API_KEY is set). */
export const RECONCILE_SCHEDULE_ID = 'billing-reconcile-stripe';

/** One delivery workflow per notification endpoint (SPEC §10). */
export function notificationEndpointWorkflowId(endpointId: string): string {
  return `notification-endpoint:${endpointId}`;
}
