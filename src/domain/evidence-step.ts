// What an evidence handler returns (record, stale, ignore, reject) and the handler's shape. Pure
// types.
import type {
  AccountObjects,
  AccountState,
  AuditAction,
  BillingEvent,
  EqualSecondConflict,
  EventData,
} from './types';

/** Account columns an event fills in when it names them (null leaves the column as it is). */
export interface Links {
  email?: string | null;
  stripe_customer_id?: string | null;
  myasp_user_id?: string | null;
  plan?: string | null;
  amount?: number | null;
}

export type EvidenceStep =
  | {
      kind: 'record';
      objects: AccountObjects;
      action: AuditAction;
      details: Record<string, unknown>;
      links: Links;
      /** Provider evidence supersedes an older manual correction. */
      from_provider: boolean;
      /** The snapshot disagrees with an earlier one of the same second (arrival order decided). */
      conflict?: EqualSecondConflict;
    }
  | {
      kind: 'stale';
      object: string;
      newest: string;
      /** Why: older than the object's newest evidence (the default), or behind in its lifecycle. */
      reason?: 'behind_in_lifecycle';
    }
  | { kind: 'ignore'; reason: string }
  | { kind: 'reject'; reason: string };

export type EvidenceHandler<K extends EventData['kind']> = (
  objects: AccountObjects,
  data: Extract<EventData, { kind: K }>,
  event: BillingEvent,
  state: AccountState | null,
) => EvidenceStep;
