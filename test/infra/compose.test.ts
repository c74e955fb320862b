// docker-compose.yml and Dockerfile cannot be run here (no Docker engine); these checks keep them
// consistent with the code: the services, their wiring, and the search attributes of SPEC §7. Its
// self-hosted Temporal is what the test suite's server run runs (src/dev/self-hosted-temporal.ts,
// jest.temporal-server.config.js): the same release, schema job, settings and setup job.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { parse } from 'yaml';

import {
  DEFAULT_HISTORY_SHARDS,
  DYNAMIC_CONFIG_FILE,
  TEMPORAL_SCHEMA_SCRIPT,
  TEMPORAL_SETUP_SCRIPT,
  TEMPORAL_SQL_PLUGIN,
  temporalSchemaEnv,
  temporalServerEnv,
} from '../../src/dev/self-hosted-temporal';
import { resolveTemporalCli, TEMPORAL_SERVER_VERSION } from '../../src/temporal/binaries';
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

/** A compose command as the shell sees it: compose turns `$$` into `$`. */
const script = (s: ComposeService) => command(s).replaceAll('$$', '$').trim();
/** Any values: only the keys are compared. */
const pg = { host: 'postgres', port: 5432, user: 'postgres', password: 'x' };
const sortedKeys = (o: object) => Object.keys(o).sort();

describe('docker-compose.yml: self-hosted Temporal on PostgreSQL, as the server run tests it', () => {
  it('when the images are pulled, then server and admin-tools are the release the tests build and run', () => {
    expect(service('temporal').image).toBe(`temporalio/server:${TEMPORAL_SERVER_VERSION}`);
    for (const job of ['temporal-schema', 'temporal-setup']) {
      expect(service(job).image).toBe(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
    }
  });

  it('when the Web UI is pulled, then it is the version the dev server of the same release ships, which check:ui drives', () => {
    const cli = resolveTemporalCli();
    if (!cli) throw new Error('The Temporal CLI is not installed: run `npm run setup`.');
    // e.g. "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)"
    const version = execFileSync(cli, ['--version'], { encoding: 'utf8' });
    const [, server, ui] = /Server (\d+\.\d+)\.\d+, UI (\d+\.\d+\.\d+)/.exec(version) ?? [];
    expect(TEMPORAL_SERVER_VERSION.startsWith(`${server}.`)).toBe(true);
    expect(service('temporal-ui').image).toBe(`temporalio/ui:${ui}`);
  });

  it('when the schema job runs, then it is the script the tests run, word for word, with the same settings', () => {
    expect(script(service('temporal-schema'))).toBe(TEMPORAL_SCHEMA_SCRIPT);
    expect(sortedKeys(env(service('temporal-schema')))).toEqual(sortedKeys(temporalSchemaEnv(pg)));
    for (const db of ['temporal', 'temporal_visibility']) {
      expect(TEMPORAL_SCHEMA_SCRIPT).toMatch(new RegExp(`--db ${db} update-schema`));
    }
  });

  it('when the server starts, then it has the settings the tests give it (ports aside), persisting to the compose PostgreSQL after the schema job', () => {
    const vars = env(service('temporal'));
    const tested = temporalServerEnv({
      postgres: pg,
      historyShards: DEFAULT_HISTORY_SHARDS,
      bindOnIp: '0.0.0.0',
      dynamicConfigFile: 'x',
    });
    expect(sortedKeys(vars)).toEqual(sortedKeys(tested));
    expect(vars).toMatchObject({ DB: TEMPORAL_SQL_PLUGIN, POSTGRES_SEEDS: 'postgres' });
    expect(vars.NUM_HISTORY_SHARDS).toBe(`\${NUM_HISTORY_SHARDS:-${DEFAULT_HISTORY_SHARDS}}`);
    // The file the tests give the server is the one compose mounts where the setting points.
    const mount = (service('temporal').volumes ?? []).find((v) =>
      v.split(':')[1]?.endsWith(vars.DYNAMIC_CONFIG_FILE_PATH ?? '-'),
    );
    expect(path.normalize(mount?.split(':')[0] ?? '')).toBe(DYNAMIC_CONFIG_FILE);
    expect(condition(service('temporal'), 'temporal-schema')).toBe(
      'service_completed_successfully',
    );
  });

  it('when the setup job runs, then it is the script the tests run, word for word, registering every billing search attribute', () => {
    expect(script(service('temporal-setup'))).toBe(TEMPORAL_SETUP_SCRIPT);
    expect(env(service('temporal-setup'))).toEqual({ TEMPORAL_ADDRESS: 'temporal:7233' });
    for (const [name, type] of Object.entries(BILLING_SEARCH_ATTRIBUTES)) {
      expect(TEMPORAL_SETUP_SCRIPT).toMatch(new RegExp(`\\b${name}:${type}\\b`, 'i'));
    }
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

describe("docs/deploy.md's self-hosted section: what an operator runs is what the tests run", () => {
  const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'deploy.md'), 'utf8');
  const start = doc.indexOf('## Self-hosted Temporal on PostgreSQL');
  const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
  const shellBlocks = [...section.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) => m[1]);

  it('when an operator reads it, then it names the release the tests build and run', () => {
    expect(section).toContain(`Temporal server **${TEMPORAL_SERVER_VERSION}**`);
    expect(section).toContain(`go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`);
  });

  it('when an operator copies the schema and setup jobs, then they are the scripts the tests run, word for word', () => {
    expect(shellBlocks.slice(0, 2)).toEqual([TEMPORAL_SCHEMA_SCRIPT, TEMPORAL_SETUP_SCRIPT]);
  });

  it("when an operator sets the server's environment, then the table lists every key the tests set besides ports", () => {
    const keys = Object.keys(
      temporalServerEnv({ postgres: pg, historyShards: 4, bindOnIp: 'x', dynamicConfigFile: 'x' }),
    );
    const listed = [...section.matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(keys.sort());
  });
});
