// The package entry for HOST applications: the entitlement middleware and the gate's public
// types. The service itself starts from src/main.ts; nothing here opens a connection.
export {
  requireEntitlement,
  NEVER_BLOCKED_ACTIONS,
  DEFAULT_TIMEOUT_MS,
  type EntitlementDecision,
  type EntitlementOptions,
  type NotEntitledBody,
} from './host-app/entitlement';
export type { GateDecision } from './domain/gate';
export type { Status } from './domain/types';
export {
  createNotificationReceiver,
  MemorySeqStore,
  type NotificationReceiverOptions,
  type ReceivedChange,
  type ReceiverAnswer,
  type SeqStore,
  type ChangeType,
  type VisibleState,
} from './host-app/notifications';
