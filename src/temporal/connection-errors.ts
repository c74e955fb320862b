// What went wrong when connecting to Temporal, as one sentence an operator can act on. The SDKs
// report TLS and credential problems in transport words ("invalid compression flag … 400 Bad
// Request", "InvalidCertificate(UnknownIssuer)", "GoAway FRAME_SIZE_ERROR"); this names the
// setting to change instead. Messages never contain certificate contents or the API key.
import tls from 'node:tls';

import type { TemporalSecurity } from '../config';

export class TemporalConnectionError extends Error {
  override name = 'TemporalConnectionError';
  /** true: the cluster answered and refused us (TLS, certificate, credentials): retrying will not help. */
  readonly refused: boolean;
  constructor(message: string, refused: boolean) {
    super(message);
    this.refused = refused;
  }
}

export interface ConnectionTarget {
  address: string;
  namespace: string;
  security?: TemporalSecurity;
}

const SERVER_UNTRUSTED =
  /UnknownIssuer|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT|self[- ]signed|unable to (verify|get local issuer)|certificate verify failed|BadSignature|unknown ca/i;
const SERVER_WRONG_NAME =
  /NotValidForName|ERR_TLS_CERT_ALTNAME_INVALID|not valid for name|Hostname\/IP does not match|altnames|CertNotValidForName/i;
const CLIENT_REFUSED =
  /400 Bad Request|HTTP status code 400|CertificateRequired|certificate required|BadCertificate|bad certificate|UnknownCA|alert.*handshake|HandshakeFailure|tlsv1 alert|sslv3 alert/i;
const PLAINTEXT_TO_TLS =
  /speaks TLS|FRAME_SIZE_ERROR|http2 error|Http2|Protocol error|wrong version number/i;
const CREDENTIALS = /UNAUTHENTICATED|PERMISSION_DENIED|PermissionDenied|Request unauthorized/i;
const UNREACHABLE =
  /ECONNREFUSED|Connection refused|ENOTFOUND|EAI_AGAIN|dns error|No connection established|timed out|Deadline exceeded|UNAVAILABLE|ConnectError/i;

function messageOf(err: unknown): string {
  const e = err as { message?: unknown; details?: unknown; cause?: unknown } | null;
  const parts = [e?.message, e?.details, (e?.cause as { message?: unknown } | undefined)?.message];
  return parts.filter((p): p is string => typeof p === 'string').join(' | ') || String(err);
}

/** The error as a TemporalConnectionError with a sentence naming the setting to change. */
export function explainTemporalError(
  err: unknown,
  target: ConnectionTarget,
): TemporalConnectionError {
  return (
    recognizeTemporalError(err, target) ??
    new TemporalConnectionError(
      `Temporal at ${target.address} could not be used: ${firstLine(messageOf(err))}`,
      false,
    )
  );
}

/** A sentence for a connection, TLS or credential problem; null for anything else. */
export function recognizeTemporalError(
  err: unknown,
  target: ConnectionTarget,
): TemporalConnectionError | null {
  if (err instanceof TemporalConnectionError) return err;
  const raw = messageOf(err);
  const at = `Temporal at ${target.address}`;
  const tls = target.security?.tls ?? null;
  const hasClientCert = Boolean(tls?.clientCertPair);
  if (tls && SERVER_WRONG_NAME.test(raw)) {
    return new TemporalConnectionError(
      `${at} presented a server certificate that is not issued for the name this service checks; set TEMPORAL_TLS_SERVER_NAME to the name in that certificate.`,
      true,
    );
  }
  if (tls && SERVER_UNTRUSTED.test(raw)) {
    const ca = tls.serverRootCACertificate
      ? 'is not signed by the CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH (or _DATA); point that setting at the CA that signed it'
      : 'is not signed by a CA this machine trusts; set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it';
    return new TemporalConnectionError(`${at} presented a server certificate that ${ca}.`, true);
  }
  if (tls && CLIENT_REFUSED.test(raw)) {
    return new TemporalConnectionError(
      hasClientCert
        ? `${at} refused the client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH or _DATA): it must be signed by a CA the cluster trusts for namespace ${target.namespace}, and not expired or revoked.`
        : `${at} asks for a client certificate and none is set; set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or their _DATA forms), or TEMPORAL_API_KEY for Temporal Cloud API keys.`,
      true,
    );
  }
  if (!tls && (PLAINTEXT_TO_TLS.test(raw) || /400 Bad Request|HTTP status code 400/.test(raw))) {
    return new TemporalConnectionError(
      `${at} did not answer plaintext gRPC; if it expects TLS (Temporal Cloud, a cluster with mTLS), set TEMPORAL_TLS=true, a client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH) or TEMPORAL_API_KEY.`,
      true,
    );
  }
  if (CREDENTIALS.test(raw)) {
    const credential = target.security?.apiKey
      ? 'the API key (TEMPORAL_API_KEY)'
      : hasClientCert
        ? 'the client certificate'
        : 'this connection (no credentials are set)';
    return new TemporalConnectionError(
      `${at} refused ${credential} for namespace ${target.namespace}; check that it is valid and allowed on that namespace (TEMPORAL_NAMESPACE).`,
      true,
    );
  }
  if (UNREACHABLE.test(raw)) {
    return new TemporalConnectionError(
      `${at} is not reachable (${firstLine(raw)}); check TEMPORAL_ADDRESS and that the cluster is up.`,
      false,
    );
  }
  return null;
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').trim().slice(0, 300);
}

/**
 * The error as a sentence, asking the TLS handshake itself when the SDK's words do not say why
 * (grpc-js reports a refused handshake as a deadline; a plaintext client talking to a TLS port
 * sees only a closed connection).
 */
export async function diagnoseTemporalError(
  err: unknown,
  target: ConnectionTarget,
): Promise<TemporalConnectionError> {
  const explained = recognizeTemporalError(err, target);
  if (explained?.refused) return explained;
  const handshake = await probeTlsHandshake(target.address, target.security, 3_000);
  const why = handshake && recognizeTemporalError(handshake, target);
  return why?.refused ? why : (explained ?? explainTemporalError(err, target));
}

/**
 * The Node client (grpc-js) reports a failed TLS handshake only as a deadline. This repeats the
 * handshake with node:tls to learn why: the server certificate, its name, or a TLS server reached
 * in plaintext. Resolves to an Error describing the handshake problem, or null when it succeeds.
 */
export function probeTlsHandshake(
  address: string,
  security: TemporalSecurity | undefined,
  timeoutMs: number,
): Promise<Error | null> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator);
  const port = Number(address.slice(separator + 1));
  const settings = security?.tls ?? null;
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      ALPNProtocols: ['h2'],
      servername: settings?.serverNameOverride ?? (/^[\d.]+$/.test(host) ? undefined : host),
      ca: settings?.serverRootCACertificate,
      cert: settings?.clientCertPair?.crt,
      key: settings?.clientCertPair?.key,
      // Only the plaintext question is asked without TLS settings: then any certificate is fine.
      rejectUnauthorized: settings !== null,
    });
    const done = (result: Error | null) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.once('secureConnect', () => done(settings ? null : new Error('the server speaks TLS')));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(settings ? new Error(`${err.code ?? ''} ${err.message}`) : null),
    );
  });
}
