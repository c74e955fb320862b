// The service's side of Temporal: start-or-signal the account workflow, start override timers.
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';

import type {
  billingAccountWorkflow,
  gateOverrideWorkflow,
  notificationEndpointWorkflow,
} from '../../workflows';
import {
  type ApplyEventResult,
  applyEventUpdate,
  eventsPendingSignal,
  notificationsPendingSignal,
  overrideClearedSignal,
  reloadStateSignal,
} from '../../workflows/messages';
import type { TemporalSecurity } from '../config';
import type { BillingEvent, Outcome } from '../domain/types';
import { accountWorkflowId, notificationEndpointWorkflowId, overrideWorkflowId } from './ids';

export interface BillingTemporal {
  client: Client;
  connection: Connection;
  taskQueue: string;
  namespace: string;
}

/**
 * A lazy connection: the API starts and keeps accepting webhooks while Temporal is down; the
 * delivery sweeper sends what was stored once it is back.
 */
export function connectTemporal(opts: {
  address: string;
  namespace: string;
  taskQueue: string;
  /** TLS, client certificate and API key; plaintext when absent. */
  security?: TemporalSecurity;
}): BillingTemporal {
  const connection = Connection.lazy({
    address: opts.address,
    ...temporalConnectionSecurity(opts.security),
  });
  const client = new Client({ connection, namespace: opts.namespace });
  return { client, connection, taskQueue: opts.taskQueue, namespace: opts.namespace };
}

/** The TLS and API key options both the client's and the worker's connections take. */
export function temporalConnectionSecurity(security: TemporalSecurity | undefined): {
  tls?: TemporalSecurity['tls'];
  apiKey?: string;
} {
  if (!security?.tls) return {};
  return { tls: security.tls, ...(security.apiKey ? { apiKey: security.apiKey } : {}) };
}

function withTimeout<T>(t: BillingTemporal, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  return t.client.withDeadline(Date.now() + timeoutMs, fn);
}

/**
 * Signal-with-start without a payload: the account workflow applies all of the account's stored,
 * unprocessed events (in id order, in one transaction). What the delivery relay sends.
 */
export async function wakeAccount(
  t: BillingTemporal,
  accountId: string,
  timeoutMs: number,
): Promise<void> {
  await withTimeout(t, timeoutMs, () =>
    t.client.workflow.signalWithStart<typeof billingAccountWorkflow, []>('billingAccountWorkflow', {
      workflowId: accountWorkflowId(accountId),
      taskQueue: t.taskQueue,
      args: [{ account_id: accountId }],
      signal: eventsPendingSignal,
      signalArgs: [],
    }),
  );
}

/**
 * Signal-with-start without a payload: the endpoint's delivery workflow runs a round now (its
 * messages are queued in PostgreSQL). Starts it when it is not running.
 */
export async function wakeNotificationEndpoint(
  t: BillingTemporal,
  endpointId: string,
  timeoutMs: number,
): Promise<void> {
  await withTimeout(t, timeoutMs, () =>
    t.client.workflow.signalWithStart<typeof notificationEndpointWorkflow, []>(
      'notificationEndpointWorkflow',
      {
        workflowId: notificationEndpointWorkflowId(endpointId),
        taskQueue: t.taskQueue,
        args: [{ endpoint_id: endpointId }],
        signal: notificationsPendingSignal,
        signalArgs: [],
      },
    ),
  );
}

/** Update-with-start: answers once the account workflow has processed the event. */
export async function applyEventAndWait(
  t: BillingTemporal,
  event: BillingEvent,
  timeoutMs: number,
): Promise<ApplyEventResult> {
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof billingAccountWorkflow>(
    'billingAccountWorkflow',
    {
      workflowId: accountWorkflowId(event.account_id),
      taskQueue: t.taskQueue,
      args: [{ account_id: event.account_id }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    },
  );
  return withTimeout(t, timeoutMs, () =>
    t.client.workflow.executeUpdateWithStart(applyEventUpdate, {
      args: [event],
      updateId: `event-${event.event_id}`,
      startWorkflowOperation,
    }),
  );
}

/**
 * A stored event handed to its account workflow, waiting up to `timeoutMs` for its outcome (the
 * reconcile use cases take this as a dependency).
 */
export function applyThrough(
  t: BillingTemporal,
  timeoutMs = 15_000,
): (event: BillingEvent) => Promise<Outcome | null> {
  return async (event) => (await applyEventAndWait(t, event, timeoutMs)).outcome;
}

/** Asks running account workflows to re-read their projection rows (after a rebuild). */
export async function reloadAccounts(
  t: BillingTemporal,
  accountIds: readonly string[],
  timeoutMs: number,
): Promise<{ reloaded: string[]; not_running: string[] }> {
  const reloaded: string[] = [];
  const not_running: string[] = [];
  for (const id of accountIds) {
    try {
      await withTimeout(t, timeoutMs, () =>
        t.client.workflow.getHandle(accountWorkflowId(id)).signal(reloadStateSignal),
      );
      reloaded.push(id);
    } catch {
      // No running workflow: the next event starts one, and it loads the rebuilt row.
      not_running.push(id);
    }
  }
  return { reloaded, not_running };
}

export async function startOverrideTimer(
  t: BillingTemporal,
  override: { id: string; expires_at: string },
  timeoutMs: number,
): Promise<void> {
  await withTimeout(t, timeoutMs, () =>
    t.client.workflow.start<typeof gateOverrideWorkflow>('gateOverrideWorkflow', {
      workflowId: overrideWorkflowId(override.id),
      taskQueue: t.taskQueue,
      args: [{ override_id: override.id, expires_at: override.expires_at }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  );
}

export async function signalOverrideCleared(
  t: BillingTemporal,
  overrideId: string,
  timeoutMs: number,
): Promise<void> {
  await withTimeout(t, timeoutMs, () =>
    t.client.workflow.getHandle(overrideWorkflowId(overrideId)).signal(overrideClearedSignal),
  );
}

/**
 * The operator checks' view of Temporal (src/ops takes this as a dependency instead of importing
 * the client): whether it answers, and the namespace asked.
 */
export function temporalProbe(t: BillingTemporal): {
  namespace: string;
  reachable(timeoutMs: number): Promise<boolean>;
} {
  return { namespace: t.namespace, reachable: (timeoutMs) => temporalReachable(t, timeoutMs) };
}

export async function temporalReachable(t: BillingTemporal, timeoutMs: number): Promise<boolean> {
  try {
    await withTimeout(t, timeoutMs, () => t.connection.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}
