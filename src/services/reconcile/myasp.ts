// Reconciliation against an exported MyASP member list (MyASP has no API to ask).
import { findLinkedAccount, getAccount } from '../../db/queries/billing-accounts';
import { checkAccountId } from '../../domain/account-id';
import { type MemberRow, reconcileMembership } from '../../domain/reconcile';
import {
  type ApplyStoredEvent,
  type Correction,
  type ReconcileDeps,
  recordFinding,
} from './findings';
import { finishRun, type ReconcileSummary } from './runs';

export interface MyaspReconcileOptions {
  /** Where the list came from, for reconciliation_runs. */
  file: string;
  startedBy: string;
  /** When the list was exported: evidence time of rows without a date of their own. */
  exportedAt: string;
  /** Only find the differences; store nothing. */
  dryRun: boolean;
}

export interface MyaspFinding {
  account_id: string;
  user_id: string;
  differences: string[];
  from_code: string | null;
  to_code: string;
}

/**
 * Compares an exported MyASP member list with the accounts. Each member is the account linked to
 * its user id, else `myasp:<user id>` as its webhooks would be. A dry run returns the findings
 * and writes nothing; otherwise each is stored and applied as a `reconcile` event.
 */
export async function reconcileMyasp(
  deps: Omit<ReconcileDeps, 'apply'> & { apply?: ApplyStoredEvent },
  rows: readonly MemberRow[],
  opts: MyaspReconcileOptions,
): Promise<{ findings: MyaspFinding[]; summary: ReconcileSummary | null }> {
  const findings: MyaspFinding[] = [];
  const corrections: Correction[] = [];
  const errors: ReconcileSummary['errors'] = [];
  for (const row of rows) {
    const accountId =
      (await findLinkedAccount(deps.pool, { myaspUserId: row.user_id })) ??
      checkAccountId(`myasp:${row.user_id}`, 'the user id (myasp:<user id>)');
    const before = await getAccount(deps.pool, accountId);
    const finding = reconcileMembership(before, row, opts.exportedAt);
    if (finding === null) continue;
    findings.push({
      account_id: accountId,
      user_id: row.user_id,
      differences: finding.data.differences,
      from_code: before?.objects.membership?.code ?? null,
      to_code: row.code,
    });
    if (opts.dryRun) continue;
    const apply = deps.apply;
    if (!apply) throw new Error('Recording MyASP differences needs a Temporal connection.');
    try {
      corrections.push(
        await recordFinding({ ...deps, apply }, accountId, before, finding, { ...row }),
      );
    } catch (err) {
      errors.push({
        account_id: accountId,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
  if (opts.dryRun) return { findings, summary: null };
  const summary = await finishRun(deps.pool, {
    provider: 'myasp',
    scope: opts.file,
    started_at: (deps.now?.() ?? new Date()).toISOString(),
    startedBy: opts.startedBy,
    accounts_checked: rows.length,
    corrections,
    errors,
  });
  return { findings, summary };
}
