// A TLS-protected Temporal for tests. The dev server speaks only plaintext, so Debian's nginx
// terminates TLS in front of it, demands a client certificate signed by a throwaway CA
// (`ssl_verify_client on`) and passes the gRPC calls on (`grpc_pass`), as a self-hosted cluster
// with mTLS or Temporal Cloud would expect. The certificates are made with openssl per test file.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { findFreePort } from '../../src/dev/local-stack';

/** The name the proxy's certificate is issued to (reached as 127.0.0.1, so set as server name). */
export const TLS_SERVER_NAME = 'temporal.billing.test';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from another CA: the proxy must refuse it. */
  rogueClientCert: string;
  rogueClientKey: string;
  /** A CA that did not sign the proxy's certificate: a client trusting only it must refuse. */
  rogueCaCert: string;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || String(err)}`, { cause: err });
  }
}

function makeCa(dir: string, name: string): void {
  openssl(dir, ['genrsa', '-out', `${name}.key`, '2048']);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-sha256',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-out',
    `${name}.pem`,
  ]);
}

function issue(dir: string, ca: string, name: string, cn: string, ext: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(dir, ['genrsa', '-out', `${name}.key`, '2048']);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
}

/** A CA, a server certificate for TLS_SERVER_NAME, a client certificate, and rogue ones. */
export function createTestPki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  issue(
    dir,
    'ca',
    'server',
    TLS_SERVER_NAME,
    `subjectAltName=DNS:${TLS_SERVER_NAME}\nextendedKeyUsage=serverAuth\n`,
  );
  issue(dir, 'ca', 'client', 'billing-worker', 'extendedKeyUsage=clientAuth\n');
  issue(dir, 'rogue-ca', 'rogue-client', 'billing-worker', 'extendedKeyUsage=clientAuth\n');
  const file = (name: string) => path.join(dir, name);
  return {
    dir,
    caCert: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
    rogueClientCert: file('rogue-client.pem'),
    rogueClientKey: file('rogue-client.key'),
    rogueCaCert: file('rogue-ca.pem'),
  };
}

export interface TlsProxy {
  /** `127.0.0.1:<port>`: TLS, client certificate required. */
  address: string;
  stop(): Promise<void>;
}

function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(
    'nginx is not installed; the mTLS test puts it in front of Temporal (Debian: apt-get install nginx-light, which has grpc_pass).',
  );
}

function nginxConfig(opts: { dir: string; port: number; upstream: string; pki: TestPki }): string {
  const { dir, port, upstream, pki } = opts;
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
user root;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${pki.serverCert};
    ssl_certificate_key ${pki.serverKey};
    ssl_client_certificate ${pki.caCert};
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      client_max_body_size 0;
      # Workers long-poll for about a minute; keep those calls open.
      grpc_read_timeout 300s;
      grpc_send_timeout 300s;
      grpc_pass grpc://${upstream};
    }
  }
}
`;
}

function waitForPort(port: number, child: ChildProcess, log: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise<void>((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        reject(new Error(`nginx exited (${child.exitCode}): ${readTail(log)}`));
        return;
      }
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nginx did not listen: ${readTail(log)}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}

/** nginx terminating mTLS on a free port and passing gRPC to `upstream` (a plaintext Temporal). */
export async function startTlsProxy(upstream: string, pki: TestPki): Promise<TlsProxy> {
  const binary = nginxBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-nginx-'));
  fs.mkdirSync(path.join(dir, 'body'));
  const port = await findFreePort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig({ dir, port, upstream, pki }));
  const log = path.join(dir, 'error.log');
  const child = spawn(binary, ['-p', dir, '-c', conf, '-e', log, '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  await waitForPort(port, child, log);
  return {
    address: `127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGQUIT');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
