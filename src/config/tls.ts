// Production connectivity: a Temporal cluster behind TLS, client certificates (mTLS) or an API
// key (Temporal Cloud), and PostgreSQL over TLS.
//
// The TEMPORAL_TLS_* and TEMPORAL_API_KEY names are Temporal's own client environment
// configuration, so the `temporal` CLI pointed at the same cluster reads the same variables.
// Certificates are read here, once, at start-up: a missing, unreadable or mismatched file stops
// start-up with one line naming the variable, never the file's contents.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';

import { type Env, value } from './env-values';
import { ConfigError } from './errors';

export interface TemporalTls {
  /** TLS server name (SNI and certificate check) when it differs from the address's host. */
  serverNameOverride?: string;
  /** CA of the server's certificate; unset: the system's trusted CAs (Temporal Cloud). */
  serverRootCACertificate?: Buffer;
  /** The client certificate and its key, for mTLS. */
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface TemporalSecurity {
  /** null: plaintext (the local dev server, or a cluster reached inside a private network). */
  tls: TemporalTls | null;
  /** Temporal Cloud API key, sent as `Authorization: Bearer …`; implies TLS. */
  apiKey: string | null;
}

/** PEM text from an env value: literal `\n` sequences (one-line .env files) become newlines. */
const pemFromEnv = (raw: string) => Buffer.from(raw.replace(/\\n/g, '\n').trim() + '\n');

function readPem(env: Env, base: string, what: string): Buffer | undefined {
  const pathVar = `${base}_PATH`;
  const dataVar = `${base}_DATA`;
  const file = value(env, pathVar);
  const data = value(env, dataVar);
  if (file && data) {
    throw new ConfigError(`Both ${pathVar} and ${dataVar} are set; keep one of them.`);
  }
  if (data) {
    const pem = pemFromEnv(data);
    if (!pem.includes('-----BEGIN ')) {
      throw new ConfigError(
        `${dataVar} does not hold a PEM ${what} (it must start with -----BEGIN).`,
      );
    }
    return pem;
  }
  if (!file) return undefined;
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'cannot be read by this user (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `cannot be read (${code ?? 'error'})`;
    throw new ConfigError(`${pathVar} names ${file}, which ${why}; point it at the PEM ${what}.`);
  }
  if (!pem.includes('-----BEGIN ')) {
    throw new ConfigError(`${pathVar} names ${file}, which is not a PEM ${what}.`);
  }
  return pem;
}

function certificate(pem: Buffer, name: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(`${name} is not a readable X.509 certificate in PEM form.`);
  }
}

function checkClientPair(crt: Buffer, key: Buffer, now: Date): void {
  const cert = certificate(crt, 'The Temporal client certificate (TEMPORAL_TLS_CLIENT_CERT_*)');
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(
      'The Temporal client key (TEMPORAL_TLS_CLIENT_KEY_*) is not an unencrypted PEM private key.',
    );
  }
  if (!cert.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      'The Temporal client key (TEMPORAL_TLS_CLIENT_KEY_*) does not belong to the client certificate (TEMPORAL_TLS_CLIENT_CERT_*).',
    );
  }
  if (new Date(cert.validTo) < now) {
    throw new ConfigError(
      `The Temporal client certificate (TEMPORAL_TLS_CLIENT_CERT_*) expired on ${new Date(cert.validTo).toISOString()}; issue a new one.`,
    );
  }
}

function booleanSetting(env: Env, name: string): boolean | undefined {
  const raw = value(env, name)?.toLowerCase();
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false.`);
}

/**
 * Reads TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH|DATA, TEMPORAL_TLS_CLIENT_KEY_PATH|DATA,
 * TEMPORAL_TLS_SERVER_CA_CERT_PATH|DATA, TEMPORAL_TLS_SERVER_NAME and TEMPORAL_API_KEY. Used by
 * the service (through loadConfig) and by the operator CLI, which has no other settings.
 */
export function loadTemporalSecurity(env: Env, now: Date = new Date()): TemporalSecurity {
  const apiKey = value(env, 'TEMPORAL_API_KEY')?.trim() ?? null;
  const crt = readPem(env, 'TEMPORAL_TLS_CLIENT_CERT', 'certificate');
  const key = readPem(env, 'TEMPORAL_TLS_CLIENT_KEY', 'private key');
  const ca = readPem(env, 'TEMPORAL_TLS_SERVER_CA_CERT', 'CA certificate');
  const serverName = value(env, 'TEMPORAL_TLS_SERVER_NAME')?.trim();
  if (crt && !key) {
    throw new ConfigError(
      'A Temporal client certificate is set but no key: set TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA) too.',
    );
  }
  if (key && !crt) {
    throw new ConfigError(
      'A Temporal client key is set but no certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA) too.',
    );
  }
  if (crt && key) checkClientPair(crt, key, now);
  if (ca) certificate(ca, 'The Temporal server CA (TEMPORAL_TLS_SERVER_CA_CERT_*)');
  const explicit = booleanSetting(env, 'TEMPORAL_TLS');
  const wantsTls = Boolean(apiKey || crt || ca || serverName);
  if (explicit === false && wantsTls) {
    throw new ConfigError(
      'TEMPORAL_TLS is false, but a client certificate, server CA, server name or API key is set; remove TEMPORAL_TLS=false or those settings.',
    );
  }
  if (!(explicit ?? wantsTls)) return { tls: null, apiKey: null };
  const tls: TemporalTls = {};
  if (serverName) tls.serverNameOverride = serverName;
  if (ca) tls.serverRootCACertificate = ca;
  if (crt && key) tls.clientCertPair = { crt, key };
  return { tls, apiKey };
}

const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/**
 * DATABASE_URL over TLS uses the libpq parameters (`sslmode`, `sslrootcert`, `sslcert`,
 * `sslkey`); the driver reads those files when it connects, so check them here instead.
 */
export function checkDatabaseTls(databaseUrl: string): void {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new ConfigError(
      'DATABASE_URL is not a URL; use postgres://user:password@host:5432/database.',
    );
  }
  const mode = url.searchParams.get('sslmode');
  if (mode !== null && !SSL_MODES.includes(mode)) {
    throw new ConfigError(
      `DATABASE_URL has sslmode=${mode}; use one of ${SSL_MODES.join(', ')} (verify-full for a managed PostgreSQL).`,
    );
  }
  for (const param of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = url.searchParams.get(param);
    if (file === null) continue;
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch {
      throw new ConfigError(
        `DATABASE_URL's ${param} names ${file}, which does not exist or cannot be read.`,
      );
    }
  }
}
