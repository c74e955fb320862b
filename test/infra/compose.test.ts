// docker-compose.yml and Dockerfile cannot be run here (no Docker engine); these checks keep them
// consistent with the code: the services, their wiring, and the search attributes of SPEC §7.
import fs from 'node:fs';
import path from 'node:path';

import { parse } from 'yaml';

import { BILLING_SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  environment?: Record<string, string> | string[];
  ports?: string[];
  healthcheck?: { test?: string | string[] };
  volumes?: string[];
}

const repoRoot = path.resolve(__dirname, '..', '..');
const compose = parse(fs.readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, ComposeService> };
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

const dependsOn = (s: ComposeService) =>
  Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
const env = (s: ComposeService): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(
        s.environment.map((kv): [string, string] => {
          const [key = '', ...value] = kv.split('=');
          return [key, value.join('=')];
        }),
      )
    : (s.environment ?? {});
const command = (s: ComposeService) =>
  Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? '');
const publishes = (s: ComposeService, port: number) =>
  (s.ports ?? []).some((p) => String(p).endsWith(`:${port}`));

describe('docker-compose.yml', () => {
  it('when parsed, then it has the servers and both roles of the app', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['postgres', 'temporal', 'temporal-ui', 'api', 'worker']),
    );
    expect(service('postgres').image).toBe('postgres:16');
    // Temporal deprecated `temporalio/auto-setup`: the server image, with the schema set up by
    // the admin-tools image, is what it recommends for self-hosting now.
    expect(service('temporal').image).toMatch(/^temporalio\/server:\d+\.\d+\.\d+$/);
    expect(JSON.stringify(compose)).not.toContain('auto-setup');
    expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:/);
  });

  it.each(['api', 'worker'])(
    'when %s starts, then it waits for PostgreSQL and Temporal',
    (name) => {
      expect(dependsOn(service(name))).toEqual(expect.arrayContaining(['postgres', 'temporal']));
    },
  );

  it.each(['api', 'worker'])('when %s runs, then it is pointed at the compose servers', (name) => {
    const vars = env(service(name));
    expect(vars.DATABASE_URL).toMatch(/^postgres(ql)?:\/\/[^@]+@postgres:5432\/\w+$/);
    expect(vars.TEMPORAL_ADDRESS).toBe('temporal:7233');
    for (const secret of ['STRIPE_WEBHOOK_SECRET', 'MYASP_TOKEN', 'ADMIN_TOKEN']) {
      expect(vars[secret]).toBeDefined();
    }
  });

  it('when built, then both roles run this image with their own npm script', () => {
    expect(service('api').build).toBeDefined();
    expect(service('worker').build).toBeDefined();
    expect(command(service('api'))).toBe('npm run api');
    expect(command(service('worker'))).toBe('npm run worker');
  });

  it('when up, then the API, Temporal and the Web UI are reachable from the host', () => {
    expect(publishes(service('api'), 3000)).toBe(true);
    expect(publishes(service('temporal'), 7233)).toBe(true);
    expect(publishes(service('temporal-ui'), 8080)).toBe(true);
    expect(publishes(service('postgres'), 5432)).toBe(true);
    expect(env(service('temporal-ui')).TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('when Temporal is set up, then every billing search attribute is registered', () => {
    const setup = command(service('temporal-setup'));
    for (const name of Object.keys(BILLING_SEARCH_ATTRIBUTES)) expect(setup).toContain(name);
    expect(dependsOn(service('api'))).toContain('temporal-setup');
  });

  it('when the package scripts are looked up, then npm run api and npm run worker exist', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.api).toContain('--role=api');
    expect(pkg.scripts.worker).toContain('--role=worker');
  });
});

const healthcheck = (s: ComposeService) =>
  Array.isArray(s.healthcheck?.test) ? s.healthcheck.test.join(' ') : (s.healthcheck?.test ?? '');
const condition = (s: ComposeService, on: string) =>
  Array.isArray(s.depends_on) ? undefined : s.depends_on?.[on]?.condition;

describe('docker-compose.yml: self-hosted Temporal on PostgreSQL', () => {
  it('when Temporal starts, then it persists to the compose PostgreSQL after the schema job has run', () => {
    const schema = service('temporal-schema');
    expect(schema.image).toMatch(/^temporalio\/admin-tools:/);
    const setup = command(schema);
    for (const db of ['temporal', 'temporal_visibility']) {
      expect(setup).toMatch(new RegExp(`--db ${db} update-schema`));
    }
    expect(condition(service('temporal'), 'temporal-schema')).toBe(
      'service_completed_successfully',
    );
    expect(env(service('temporal'))).toMatchObject({
      DB: 'postgres12',
      POSTGRES_SEEDS: 'postgres',
    });
  });

  it('when Temporal and the app run, then each has a health check and dependants wait for it', () => {
    for (const name of ['postgres', 'temporal', 'api', 'worker']) {
      expect(healthcheck(service(name))).not.toBe('');
    }
    expect(healthcheck(service('api'))).toContain('/readyz');
    expect(healthcheck(service('worker'))).toContain(':3001/readyz');
    expect(env(service('worker')).WORKER_HEALTH_PORT).toBe('3001');
    expect(condition(service('temporal-setup'), 'temporal')).toBe('service_healthy');
    for (const name of ['api', 'worker']) {
      expect(condition(service(name), 'temporal-setup')).toBe('service_completed_successfully');
    }
  });

  it('when Temporal is set up, then the namespace exists before the search attributes are added', () => {
    const setup = command(service('temporal-setup'));
    expect(setup).toMatch(/operator namespace create/);
    expect(setup.indexOf('namespace create')).toBeLessThan(
      setup.indexOf('search-attribute create'),
    );
  });

  it('when the dynamic config file is mounted, then it exists in this repository', () => {
    const mounts = (service('temporal').volumes ?? []).map((v) => v.split(':')[0] ?? '');
    expect(mounts.length).toBeGreaterThan(0);
    for (const source of mounts) expect(fs.existsSync(path.join(repoRoot, source))).toBe(true);
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');

  it('when built, then it starts from Node 20 and installs without dev dependencies', () => {
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^CMD \["npm", "start"\]$/m);
  });

  it('when run, then the code the service loads is in the image', () => {
    for (const dir of ['src', 'workflows', 'activities', 'bin']) {
      expect(dockerfile).toMatch(new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
    }
  });

  it('when run through tsx, then tsx is a runtime dependency', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies.tsx).toBeDefined();
  });
});
