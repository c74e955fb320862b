// One shape for every operator check (daily check, integrity check): a table of small named
// checks, each answering ok / warn / fail with a value and a sentence.

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckItem {
  name: string;
  status: CheckStatus;
  value: unknown;
  message: string;
}

export type CheckOutcome = Omit<CheckItem, 'name'>;

export interface Check<C> {
  name: string;
  run: (ctx: C) => Promise<CheckOutcome>;
}

const RANK: Record<CheckStatus, number> = { ok: 0, warn: 1, fail: 2 };

export function worstStatus(items: readonly { status: CheckStatus }[]): CheckStatus {
  return items.reduce<CheckStatus>(
    (worst, i) => (RANK[i.status] > RANK[worst] ? i.status : worst),
    'ok',
  );
}

/** Runs every check; one that throws becomes a `fail` item instead of hiding the others. */
export async function runChecks<C>(checks: readonly Check<C>[], ctx: C): Promise<CheckItem[]> {
  return Promise.all(
    checks.map(async (check): Promise<CheckItem> => {
      try {
        return { name: check.name, ...(await check.run(ctx)) };
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        return {
          name: check.name,
          status: 'fail',
          value: null,
          message: `The check could not run: ${reason}`,
        };
      }
    }),
  );
}

export function ok(value: unknown, message: string): CheckOutcome {
  return { status: 'ok', value, message };
}

export function warn(value: unknown, message: string): CheckOutcome {
  return { status: 'warn', value, message };
}

export function fail(value: unknown, message: string): CheckOutcome {
  return { status: 'fail', value, message };
}
