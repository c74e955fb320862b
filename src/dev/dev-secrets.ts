// Secrets for a local run with nothing configured: generated once, kept in .data (git-ignored,
// mode 0600), never printed. Production sets them in the environment.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface DevSecrets {
  stripeWebhookSecret: string;
  myaspToken: string;
  adminToken: string;
}

export function loadOrCreateDevSecrets(dataDir: string): { secrets: DevSecrets; file: string } {
  const file = path.resolve(dataDir, 'dev-secrets.json');
  if (fs.existsSync(file))
    return { secrets: JSON.parse(fs.readFileSync(file, 'utf8')) as DevSecrets, file };
  const secrets: DevSecrets = {
    stripeWebhookSecret: `whsec_${randomBytes(24).toString('hex')}`,
    myaspToken: randomBytes(24).toString('hex'),
    adminToken: randomBytes(24).toString('hex'),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  return { secrets, file };
}
