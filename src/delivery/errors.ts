// Which delivery failures say "Temporal is unavailable" (stop and wait for it, for every account)
// and which name the one request (the event or its account: try the others, count it against the
// event). Mixing them up is how one bad event used to stall delivery for everyone.

/** gRPC status codes (https://grpc.io/docs/guides/status-codes/), named for messages. */
const GRPC_STATUS = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;
type GrpcStatusName = (typeof GRPC_STATUS)[number];

export type DeliveryFailureKind = 'unavailable' | 'event';

/** Refusals of this request in particular; any other gRPC status is about the server. */
const EVENT_STATUSES: ReadonlySet<GrpcStatusName> = new Set<GrpcStatusName>([
  'INVALID_ARGUMENT',
  'ALREADY_EXISTS',
  'FAILED_PRECONDITION',
  'OUT_OF_RANGE',
]);

const CONNECTION_TROUBLE =
  /connect|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|deadline|timed? ?out/i;

/** The gRPC status code on the error or anywhere in its cause chain. */
export function grpcStatusOf(err: unknown): number | null {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'number' && code >= 0 && code <= 16) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

export function classifyDeliveryError(err: unknown): DeliveryFailureKind {
  const code = grpcStatusOf(err);
  const name = code === null ? undefined : GRPC_STATUS[code];
  if (name !== undefined) return EVENT_STATUSES.has(name) ? 'event' : 'unavailable';
  const message = err instanceof Error ? err.message : String(err);
  return CONNECTION_TROUBLE.test(message) ? 'unavailable' : 'event';
}

/** One line for logs and event_deliveries.last_error: the status name and the server's words. */
export function describeDeliveryError(err: unknown): string {
  const code = grpcStatusOf(err);
  const messages: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current; depth += 1) {
    const m =
      (current as { details?: unknown; message?: unknown }).details ??
      (current as { message?: unknown }).message;
    if (typeof m === 'string' && m.trim() !== '' && !messages.includes(m)) messages.push(m);
    current = (current as { cause?: unknown }).cause;
  }
  const name = code === null ? null : (GRPC_STATUS[code] ?? String(code));
  return [name, ...messages].filter(Boolean).join(': ').slice(0, 500);
}
