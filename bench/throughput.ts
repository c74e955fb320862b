// Throughput of the webhook pipeline against the classic design, side by side in one run on the
// same PostgreSQL: verify, then one transaction writing event, account and audit row. Every
// figure is also written as a ratio to its baseline measured in the same run, because absolute
// numbers on a shared machine are noisy. Bounded: every scenario sends a fixed number of requests
// and stops. Results go to bench/results/<timestamp>.json; `npm run bench:tables` writes
// BENCHMARKS.md's tables from them. `npm run bench` is the full mode, `-- --quick` small counts.
// `-- --temporal=server [--shards=N]` runs each run's scenarios (ack, e2e, burst and rate unless
// --only says otherwise) on the dev server, then on the self-hosted Temporal server persisting to
// a PostgreSQL of its own (`server_runs` in the results; docs/bench-temporal-server.md).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import pg from 'pg';
import pino from 'pino';

import { loadConfig } from '../src/config';
import { runMigrations } from '../src/db/migrate';
import {
  type EmbeddedPostgresHandle,
  type SelfHostedTemporalHandle,
  startEmbeddedPostgres,
  startSelfHostedTemporal,
  startTemporalDevServer,
  temporalPostgresOf,
} from '../src/dev/local-stack';
import { type Role, type Running, runServices } from '../src/runtime';
import { CpuSampler, cpuShares } from './cpu';
import { type Figure, latencies } from './figure';
import { ADMIN, classicService, drained, GATE, SECRET } from './load';
import { generatorCpuSeconds, webhooks } from './load-plan';
import {
  benchSettings,
  devServerArgsFromEnv,
  ONLY,
  quick,
  SHARDS,
  SIZES,
  TEMPORAL,
  tuningSettingsFromEnv,
} from './options';
import { acknowledgements } from './scenarios/acknowledgements';
import type { ScaleContext } from './scenarios/context';
import { endToEnd } from './scenarios/end-to-end';
import { fixedRate } from './scenarios/fixed-rate';
import { gateFigure, seedGateAccounts } from './scenarios/gate';
import { watchNotifications } from './scenarios/notifications';
import { prepareRebuildDatabase, rebuildScenario } from './scenarios/rebuild';
import { registeredAccounts } from './scenarios/registered-accounts';
import { renewalBurst } from './scenarios/renewal-burst';
import { startWorkerProcess, twoProcesses, type WorkerProcess } from './scenarios/two-processes';
import { whatIfScenario } from './scenarios/what-if';

type Figures = Record<string, Figure>;

async function startService(
  databaseUrl: string,
  temporalAddress: string,
  role: Role,
  queue: string,
) {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    STRIPE_WEBHOOK_SECRET: SECRET,
    ADMIN_TOKEN: ADMIN,
    GATE_TOKENS: GATE,
    PORT: '0',
    TEMPORAL_TASK_QUEUE: queue,
    LOG_LEVEL: 'silent',
    // One address sends thousands of admin requests a minute here, and one gate token tens of
    // thousands of gate requests; the limits are for clients.
    ADMIN_RATE_LIMIT_PER_MINUTE: '100000000',
    GATE_RATE_LIMIT_PER_MINUTE: '100000000',
    // The burst's notifications go to a receiver on this machine.
    NOTIFY_ALLOW_PRIVATE: 'true',
    // Worker and delivery sizes under test (`DELIVERY_MAX_IN_FLIGHT=4 npm run bench`).
    ...tuningSettingsFromEnv(),
  });
  return runServices(config, role, pino({ level: 'silent' }), { schedules: false });
}

interface Stack {
  /** Added to the run's tag, so each Temporal's pass has accounts of its own. */
  label: string;
  databaseUrl: string;
  adminUrl: string;
  temporalAddress: string;
  temporalPid: () => number;
  temporalDbFile: string;
  cpu: CpuSampler;
  rebuildUrl: string | null;
}

/** Runs `fn` and adds which process used the CPU meanwhile to the figure it returns. */
async function measured(stack: Stack, fn: () => Promise<Figure>): Promise<Figure> {
  const before = stack.cpu.read();
  const t0 = performance.now();
  const figure = await fn();
  const shares = cpuShares(before, stack.cpu.read(), (performance.now() - t0) / 1000);
  return { ...figure, extra: { ...figure.extra, ...shares } };
}

async function oneRun(run: number, stack: Stack): Promise<Figures> {
  const { databaseUrl, temporalAddress } = stack;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  const classic = await classicService(pool);
  const figures: Figures = {};
  const tag = `r${run}${stack.label}_${process.pid}`;
  let all: Running | null = null;
  let api: Running | null = null;
  let worker: WorkerProcess | null = null;
  let classic16: number | undefined;
  const classicRate16 = async () =>
    (classic16 ??= (
      await webhooks(
        `${classic.url}/webhooks/stripe`,
        { prefix: `k${tag}_`, modulo: 1000 },
        SIZES.ack,
      )
    ).perSecond);
  try {
    const service = await startService(databaseUrl, temporalAddress, 'all', `bench-${tag}`);
    all = service;
    const url = `${all.info.apiUrl}/webhooks/stripe`;
    // 1. Acknowledgements at concurrency 1, 16, 64 (1,000 accounts).
    for (const c of ONLY.has('ack') ? [1, 16, 64] : []) {
      figures[`ack_c${c}`] = await measured(stack, () =>
        acknowledgements({
          classicUrl: classic.url,
          url,
          tag,
          requests: SIZES.ack,
          concurrency: c,
          onBaseline: (perSecond) => {
            if (c === 16) classic16 = perSecond;
          },
        }),
      );
      await drained(pool, `a${tag}_${c}_`);
    }
    // 2. Sustained end-to-end: from the first request until every acknowledged event is applied.
    for (const [name, accounts] of ONLY.has('e2e')
      ? ([
          ['e2e_50_busy', 50],
          ['e2e_1000_distinct', 1000],
        ] as const)
      : []) {
      figures[name] = await measured(stack, () =>
        endToEnd({ pool, classicUrl: classic.url, url, tag, events: SIZES.e2e, accounts }),
      );
    }
    // 3. The gate at concurrency 16 against a bare primary-key SELECT behind the same HTTP stack.
    // At concurrency 1 the latency is the cost of one answer; at 16 it adds queueing in one process.
    if (ONLY.has('gate')) {
      // The e2e scenario's accounts have a projection row; without it, 50 are made first.
      if (!ONLY.has('e2e')) await seedGateAccounts(service, classic.url, tag, pool);
      for (const c of [1, 16]) {
        figures[`gate_c${c}`] = await measured(stack, () =>
          gateFigure(service, classic.url, tag, c, SIZES.gate),
        );
      }
    }
    const ctx: ScaleContext = {
      pool,
      apiUrl: service.info.apiUrl ?? '',
      tag,
      classic16: classicRate16,
      temporalDbFile: stack.temporalDbFile,
      temporalPid: stack.temporalPid,
    };
    // 4. Registered accounts (time, database and Temporal size, memory), then a renewal-day burst
    // over the first of them: their workflows exist, as on a real renewal day.
    if (ONLY.has('registered')) {
      figures.registered_accounts = await measured(stack, () =>
        registeredAccounts(ctx, SIZES.accounts),
      );
    }
    if (ONLY.has('burst')) {
      const registered = ONLY.has('registered') ? Math.min(SIZES.accounts, SIZES.burst) : 0;
      const who = { prefix: `u${tag}_`, first: { below: registered, prefix: `g${tag}_` } };
      // Every change of the burst is also notified to a local receiver (SPEC §10).
      const notify = await watchNotifications(pool, service.temporalClient());
      const burst = await measured(stack, () => renewalBurst(ctx, classic.url, who, SIZES.burst));
      figures.renewal_burst = { ...burst, extra: { ...burst.extra, ...(await notify.finish()) } };
    }
    // 5. Fixed rates over 1,000 distinct accounts: a quarter and half of the classic rate.
    for (const fraction of ONLY.has('rate') ? [0.25, 0.5] : []) {
      figures[`rate_${fraction * 100}pct`] = await measured(stack, () =>
        fixedRate(ctx, fraction, SIZES.rate_seconds),
      );
    }
    await service.stop();
    all = null;
    // 6. API alone (no worker on the box) at concurrency 16, then the backlog it leaves drains.
    if (ONLY.has('split')) {
      // Its own classic baseline, the same load measured just before: the box's speed drifts over a
      // run (the acknowledgements figure is many minutes earlier), and this ratio meets a target.
      const backlog = (url: string, prefix: string) =>
        webhooks(url, { prefix, modulo: 1000 }, SIZES.backlog);
      const base = await backlog(`${classic.url}/webhooks/stripe`, `k${tag}_split_`);
      api = await startService(databaseUrl, temporalAddress, 'api', `bench-${tag}-split`);
      const apiUrl = `${api.info.apiUrl}/webhooks/stripe`;
      const prefix = `b${tag}_`;
      figures.ack_c16_api_only = await measured(stack, async () => {
        const apiOnly = await backlog(apiUrl, prefix);
        return {
          value: apiOnly.perSecond,
          baseline: base.perSecond,
          baseline_label: 'classic, concurrency 16, the same load just before',
          unit: 'acks/s',
          extra: latencies(apiOnly, base),
        };
      });
      await api.stop();
      api = null;
      figures.backlog_drain = await measured(stack, async () => {
        const t0 = performance.now();
        all = await startService(databaseUrl, temporalAddress, 'all', `bench-${tag}-split`);
        await drained(pool, prefix);
        const seconds = (performance.now() - t0) / 1000;
        return {
          value: SIZES.backlog / seconds,
          baseline: base.perSecond,
          baseline_label: 'classic, concurrency 16, measured before the API alone',
          unit: 'events/s drained',
          extra: { seconds, events: SIZES.backlog },
        };
      });
    }
    // 7. Everything on the box as two processes: the API here, the worker in a child process.
    if (ONLY.has('pair')) {
      // The split scenario's full service (started inside its figure) must not apply these.
      await (all as Running | null)?.stop();
      all = null;
      const queue = `bench-${tag}-pair`;
      worker = await startWorkerProcess(databaseUrl, temporalAddress, queue);
      stack.cpu.addServiceProcess(worker.pid);
      api = await startService(databaseUrl, temporalAddress, 'api', queue);
      const url = `${api.info.apiUrl}/webhooks/stripe`;
      figures.ack_c16_two_processes = await measured(stack, () =>
        twoProcesses({ pool, classicUrl: classic.url, url, tag, requests: SIZES.ack }),
      );
      await api.stop();
      api = null;
      await worker.stop();
      worker = null;
    }
    // 8. rebuild-projection over the generated events (a database of their own).
    if (stack.rebuildUrl) {
      const rebuildUrl = stack.rebuildUrl;
      if (ONLY.has('rebuild'))
        figures.rebuild = await measured(stack, () => rebuildScenario(rebuildUrl));
      // 9. what-if over the same events, as a ratio to the rebuild measured just before it.
      if (ONLY.has('whatif'))
        figures.what_if = await measured(stack, () => whatIfScenario(rebuildUrl));
    }
  } finally {
    await all?.stop();
    await api?.stop();
    await worker?.stop();
    classic.server.close();
    await pool.end();
  }
  return figures;
}

function loadAverage(): number[] {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}

/** The self-hosted Temporal server on a PostgreSQL of its own, with `SHARDS` history shards. */
async function startTemporalServer(
  dir: string,
): Promise<{ postgres: EmbeddedPostgresHandle; temporal: SelfHostedTemporalHandle }> {
  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'temporal-pg'),
    persistent: false,
    database: 'postgres',
  });
  try {
    const temporal = await startSelfHostedTemporal({
      postgres: temporalPostgresOf(postgres.adminUrl),
      historyShards: SHARDS,
    });
    return { postgres, temporal };
  } catch (err) {
    await postgres.stop();
    throw err;
  }
}

async function main(): Promise<void> {
  const started = new Date();
  const commit = sourceCommit();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-bench-'));
  fs.chmodSync(dir, 0o755);
  const pgServer = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    persistent: false,
  });
  // A SQLite file as `npm start` uses, so Temporal's size can be measured.
  const temporalDbFile = path.join(dir, 'temporal.db');
  const temporal = await startTemporalDevServer({
    namespace: 'default',
    headless: true,
    dbFilename: temporalDbFile,
    extraArgs: devServerArgsFromEnv(),
  });
  const server = TEMPORAL === 'server' ? await startTemporalServer(dir) : null;
  const cpu = new CpuSampler({
    temporal: () => temporal.pid,
    postgres: pgServer.pid,
    load: generatorCpuSeconds,
  });
  const serverCpu =
    server &&
    new CpuSampler({
      temporal: () => server.temporal.pid,
      postgres: pgServer.pid,
      temporalPostgres: server.postgres.pid,
      load: generatorCpuSeconds,
    });
  cpu.start();
  serverCpu?.start();
  const runs: Figures[] = [];
  const serverRuns: Figures[] = [];
  const loadBefore = loadAverage();
  let rebuildSetup: Record<string, number> | undefined;
  try {
    await runMigrations(pgServer.databaseUrl, () => undefined);
    let rebuildUrl: string | null = null;
    if (ONLY.has('rebuild') || ONLY.has('whatif')) {
      process.stderr.write(`generating ${SIZES.rebuild} processed events…\n`);
      const prepared = await prepareRebuildDatabase(pgServer.adminUrl, SIZES.rebuild);
      rebuildUrl = prepared.url;
      rebuildSetup = {
        accounts: prepared.accounts,
        events_per_account: prepared.steps,
        generate_seconds: prepared.generateSeconds,
      };
    }
    const stack: Stack = {
      label: '',
      databaseUrl: pgServer.databaseUrl,
      adminUrl: pgServer.adminUrl,
      temporalAddress: temporal.address,
      temporalPid: () => temporal.pid,
      temporalDbFile,
      cpu,
      rebuildUrl,
    };
    // The same scenarios on the self-hosted server: its figures have baselines of their own,
    // measured just before them, as the dev server's have. No rebuild (it involves no Temporal).
    const serverStack: Stack | null = server && {
      ...stack,
      label: 's',
      temporalAddress: server.temporal.address,
      temporalPid: () => server.temporal.pid,
      temporalDbFile: '',
      cpu: serverCpu as CpuSampler,
      rebuildUrl: null,
    };
    for (let r = 1; r <= SIZES.runs; r++) {
      process.stderr.write(`run ${r}/${SIZES.runs}…\n`);
      runs.push(await oneRun(r, stack));
      if (serverStack) {
        process.stderr.write(`run ${r}/${SIZES.runs} on the Temporal server…\n`);
        serverRuns.push(await oneRun(r, serverStack));
      }
    }
  } finally {
    cpu.stop();
    serverCpu?.stop();
    await server?.temporal.stop();
    await server?.postgres.stop();
    await temporal.stop();
    await pgServer.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const result = {
    mode: quick ? 'quick' : 'full',
    commit,
    started_at: started.toISOString(),
    minutes: (Date.now() - started.getTime()) / 60_000,
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? '',
      node: process.version,
      load_before: loadBefore,
      load_after: loadAverage(),
    },
    sizes: SIZES,
    scenarios: [...ONLY],
    settings: benchSettings(),
    ...(rebuildSetup ? { rebuild_setup: rebuildSetup } : {}),
    runs,
    ...(server
      ? {
          temporal_server: { version: server.temporal.version, shards: SHARDS },
          server_runs: serverRuns,
        }
      : {}),
  };
  const out = path.join(
    __dirname,
    'results',
    `${started.toISOString().replace(/[:.]/g, '-')}-${result.mode}${server ? `-server-${SHARDS}-shards` : ''}.json`,
  );
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
  process.stdout.write(`${out}\n`);
}

/** The commit measured, with "+changes" when the work tree differs from it ("unknown" outside git). */
function sourceCommit(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: path.join(__dirname, '..'), encoding: 'utf8' }).trim();
  try {
    const changed = git(
      'status',
      '--porcelain',
      '--untracked-files=no',
      '--',
      'src',
      'activities',
      'workflows',
      'bench',
    );
    return git('rev-parse', '--short', 'HEAD') + (changed ? '+changes' : '');
  } catch {
    return 'unknown';
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
