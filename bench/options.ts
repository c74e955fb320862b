// The command line of `npm run bench`: quick or full mode, the size of each scenario (each has a
// flag, so a scaled-down scenario can be run alone), and which scenarios run (`--only=`); and the
// worker and dev-server settings under test, from the environment.
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
  'whatif',
] as const;
export type Scenario = (typeof SCENARIOS)[number];
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
export const ONLY: Set<Scenario> = new Set(
  onlyArg ? (onlyArg.slice('--only='.length).split(',') as Scenario[]) : SCENARIOS,
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
