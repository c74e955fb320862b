// The daily check's judgement of the accounts themselves (the checklist's 異常な状態): is the
// spread of statuses normal, did many accounts stop at once, who stopped lately, and does the
// gate still deny a blocked account `confirm` while letting it `propose`.
import { getGateAccount } from '../db/queries/account-reads';
import {
  BLOCKED_STATUSES,
  countStoppedAccounts,
  newestAccountIn,
  statusShares,
  stopCauses,
  stopsBetween,
} from '../db/queries/daily-check';
import { listLiveOverrides } from '../db/queries/gate-overrides';
import { decideGate } from '../domain/gate';
import { type CheckOutcome, fail, ok, warn } from './check-item';
import { ago, type DailyCheckCtx, percent } from './daily-check-context';
import { formatThreshold } from './thresholds';

const HOUR = 3_600_000;
const GOOD_STANDING = ['free', 'early_payment', 'active', 'canceling'];

export async function statusDistribution(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const s = await statusShares(ctx.pool);
  const t = ctx.thresholds;
  const count = (statuses: readonly string[]) =>
    statuses.reduce((sum, st) => sum + (s.by_status[st] ?? 0), 0);
  const share = (n: number) => (s.total === 0 ? 0 : n / s.total);
  const shares = {
    good_standing: share(count(GOOD_STANDING)),
    stopped: share(count(['stopped'])),
    revived: share(s.revived),
    canceled: share(count(['canceled'])),
    blocked: share(count(BLOCKED_STATUSES)),
  };
  const value = { total: s.total, by_status: s.by_status, revived: s.revived, shares };
  const parts = Object.entries(s.by_status).map(([st, n]) => `${st} ${n}`);
  const summary = `${s.total} account(s): ${parts.join(', ') || 'none yet'}`;
  if (s.total === 0) return ok(value, `${summary}.`);
  if (count(BLOCKED_STATUSES) === s.total) {
    return fail(
      value,
      `Every account is blocked (${summary}); nobody can confirm. Look at mass_stop and recent_stops for the events that did it (RUNBOOK.md, "Everyone suddenly stopped").`,
    );
  }
  const breaches = [
    shares.good_standing < t.good_standing_min &&
      `registered/active ${percent(shares.good_standing)} is below ${formatThreshold('good_standing_min', t.good_standing_min)}`,
    shares.stopped > t.stopped_max &&
      `stopped ${percent(shares.stopped)} is above ${formatThreshold('stopped_max', t.stopped_max)}`,
    shares.revived > t.revived_max &&
      `revived ${percent(shares.revived)} is above ${formatThreshold('revived_max', t.revived_max)}`,
    shares.canceled > t.canceled_max &&
      `canceled ${percent(shares.canceled)} is above ${formatThreshold('canceled_max', t.canceled_max)}`,
  ].filter((b): b is string => typeof b === 'string');
  if (breaches.length > 0) return warn(value, `${summary}; ${breaches.join('; ')}.`);
  return ok(value, `${summary}; within the thresholds.`);
}

export async function massStop(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const since = ago(ctx, HOUR);
  const until = ctx.now.toISOString();
  const [moved, shares] = await Promise.all([
    countStoppedAccounts(ctx.pool, since, until),
    statusShares(ctx.pool),
  ]);
  const share = shares.total === 0 ? 0 : moved / shares.total;
  const t = ctx.thresholds;
  const causes = moved > 0 ? await stopCauses(ctx.pool, since, until) : [];
  const value = { since, accounts_moved: moved, total_accounts: shares.total, share, causes };
  const named = causes
    .map(
      (c) => `${c.source} ${c.event_type} (${c.accounts} account(s), e.g. ${c.sample.join(', ')})`,
    )
    .join('; ');
  if (moved >= t.mass_stop_min_accounts && share >= t.mass_stop_share) {
    return fail(
      value,
      `${moved} of ${shares.total} account(s) (${percent(share)}) moved to a blocked status in the last hour, by: ${named}. If this is wrong, open the gate with \`npm run ops -- gate-override set\` and follow RUNBOOK.md, "Everyone suddenly stopped".`,
    );
  }
  if (moved === 0) return ok(value, 'No account moved to a blocked status in the last hour.');
  return ok(
    value,
    `${moved} account(s) (${percent(share)}) moved to a blocked status in the last hour, by: ${named}.`,
  );
}

export async function recentStops(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const since = ago(ctx, 24 * HOUR);
  const { total, rows } = await stopsBetween(ctx.pool, since, ctx.now.toISOString(), [
    'stopped',
    'canceled',
  ]);
  const value = { since, count: total, accounts: rows };
  if (total === 0) return ok(value, 'No account was stopped or canceled in the last 24 h.');
  const shown = rows
    .slice(0, 5)
    .map((r) => `${r.account_id} → ${r.status} at ${r.at} by ${r.source} ${r.event_type}`)
    .join('; ');
  return ok(
    value,
    `${total} account(s) were stopped or canceled in the last 24 h: ${shown}${total > 5 ? '; …' : ''}.`,
  );
}

/** Asks the gate, as the host application would, about a blocked account (or an unknown one). */
export async function gateProbe(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const blocked = await newestAccountIn(ctx.pool, BLOCKED_STATUSES);
  const accountId = blocked?.account_id ?? 'ops:gate-probe-no-such-account';
  const [account, overrides] = await Promise.all([
    getGateAccount(ctx.pool, accountId),
    listLiveOverrides(ctx.pool, accountId),
  ]);
  const ask = (action: string) =>
    decideGate({
      accountId,
      action,
      account,
      gatedActions: ctx.gatedActions,
      overrides: action === 'propose' ? [] : overrides,
      now: ctx.now,
    });
  const confirm = ask('confirm');
  const propose = ask('propose');
  const value = {
    account_id: accountId,
    status: account?.status ?? null,
    confirm: { allowed: confirm.allowed, reason: confirm.reason },
    propose: { allowed: propose.allowed, reason: propose.reason },
  };
  if (!propose.allowed) {
    return fail(
      value,
      `The gate denied propose to ${accountId} (${propose.reason}); propose must never be blocked.`,
    );
  }
  if (confirm.allowed && confirm.reason.startsWith('override:')) {
    return warn(
      value,
      `A gate override lets ${accountId} (${value.status ?? 'no billing record'}) confirm (${confirm.reason}); clear it with \`npm run ops -- gate-override clear\` once the incident is over.`,
    );
  }
  if (confirm.allowed) {
    return fail(
      value,
      `The gate allowed confirm to ${accountId} (${value.status ?? 'no billing record'}, ${confirm.reason}); check GATED_ACTIONS.`,
    );
  }
  return ok(
    value,
    `The gate denies confirm to ${accountId} (${confirm.reason}) and allows propose.`,
  );
}
