// The command line of `npm run bench`: quick or full mode, the size of each scenario (each has a
// flag, so a scaled-down scenario can be run alone), which scenarios run (`--only=`), and which
// Temporal (`--temporal=server [--shards=N]`: the self-hosted server as well, side by side with the
// dev server); and the worker and dev-server settings under test, from the environment.
export const quick = process.argv.includes('--quick');
/** `--name=value` on the command line, as a number. */
function flag(name: string): number | undefined {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg === undefined ? undefined : Number(arg.slice(name.length + 3));
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new Error(`--${name} takes a positive number, e.g. --${name}=1000.`);
  }
  return value;
}
// Each size has a flag, so a scaled-down scenario can be run alone (`--burst-accounts=500`).
const DEFAULTS = quick
  ? {
      ack: 600,
      e2e: 1500,
      backlog: 2000,
      gate: 2000,
      accounts: 2000,
      burst: 1000,
      rate_seconds: 20,
      rebuild: 100_000,
      runs: 3,
    }
  : {
      ack: 4000,
      e2e: 10_000,
      backlog: 5000,
      gate: 20_000,
      accounts: 100_000,
      burst: 10_000,
      rate_seconds: 120,
      rebuild: 1_000_000,
      runs: 3,
    };
export const SIZES = {
  ack: flag('acks') ?? DEFAULTS.ack,
  e2e: flag('e2e-events') ?? DEFAULTS.e2e,
  backlog: flag('backlog-events') ?? DEFAULTS.backlog,
  gate: flag('gate-requests') ?? DEFAULTS.gate,
  accounts: flag('registered-accounts') ?? DEFAULTS.accounts,
  burst: flag('burst-accounts') ?? DEFAULTS.burst,
  rate_seconds: flag('rate-seconds') ?? DEFAULTS.rate_seconds,
  rebuild: flag('rebuild-events') ?? DEFAULTS.rebuild,
  runs: flag('runs') ?? DEFAULTS.runs,
};
export const SCENARIOS = [
  'ack',
  'e2e',
  'gate',
  'registered',
  'burst',
  'rate',
  'split',
  'pair',
  'rebuild',
] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** `--name=value` on the command line, as text. */
function textFlag(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const temporalArg = textFlag('temporal') ?? 'dev';
if (temporalArg !== 'dev' && temporalArg !== 'server') {
  throw new Error(`--temporal takes dev or server; got "${temporalArg}".`);
}
/**
 * `server`: every run measures the scenarios on the dev server, then on the self-hosted Temporal
 * server on PostgreSQL (src/dev/temporal-server.ts), in the same process and on the same database.
 */
export const TEMPORAL: 'dev' | 'server' = temporalArg;
/** History shards of the self-hosted server (a new cluster per bench run). */
export const SHARDS = flag('shards') ?? 4;
if (textFlag('shards') !== undefined && TEMPORAL !== 'server') {
  throw new Error('--shards is a setting of the self-hosted server: add --temporal=server.');
}
/** What `--temporal=server` compares unless `--only` says otherwise. */
const SERVER_SCENARIOS: Scenario[] = ['ack', 'e2e', 'burst', 'rate'];

const onlyArg = textFlag('only');
export const ONLY: Set<Scenario> = new Set(
  onlyArg
    ? (onlyArg.split(',') as Scenario[])
    : TEMPORAL === 'server'
      ? SERVER_SCENARIOS
      : SCENARIOS,
);
for (const s of ONLY) {
  if (!SCENARIOS.includes(s)) throw new Error(`--only takes ${SCENARIOS.join(',')}; got "${s}".`);
}

export function tuningSettingsFromEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => /^(WORKER|DELIVERY)_/.test(k)),
  ) as Record<string, string>;
}

/** Extra dev-server flags under test, e.g. BENCH_DEV_SERVER_ARGS='--sqlite-pragma synchronous=NORMAL'. */
export function devServerArgsFromEnv(): string[] {
  return (process.env.BENCH_DEV_SERVER_ARGS ?? '').split(/\s+/).filter(Boolean);
}

/** Worker, delivery and dev-server settings in force, so results of different settings can be told apart. */
export function benchSettings(): Record<string, string> {
  const args = devServerArgsFromEnv().join(' ');
  return { ...tuningSettingsFromEnv(), ...(args ? { BENCH_DEV_SERVER_ARGS: args } : {}) };
}
