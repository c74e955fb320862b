// The settings the fold and the gate read (SPEC §2, §8), as a what-if proposes them: parsed from
// `KEY=VALUE` and applied to stored events, so that one fold — `transition` — decides under them.
// Pure.
//
// Two of them are captured into an event when it is stored, because the live service decides
// with the value in force at that moment: PAST_DUE_GRACE is stamped on each payment failure and
// subscription snapshot (`past_due_grace_ms`), DEFAULT_TRIAL_DAYS becomes the registration's `trial_end` when the host
// app gave neither a trial end nor a trial length. A proposed value is applied as if it had been
// in force for the whole history: every failure and snapshot carries the proposed grace, every registration
// that took the default gets the proposed trial. GATED_ACTIONS is read by the gate at answer time.
import { parseDurationMs } from './duration';
import { NEVER_GATED, normalizeAction } from './gate';
import type { BillingEvent, EventData } from './types';

export interface PolicySettings {
  /** PAST_DUE_GRACE in ms, null for none; absent: as stamped on each stored failure. */
  past_due_grace_ms?: number | null;
  /** DEFAULT_TRIAL_DAYS; absent: each registration's trial as recorded. */
  default_trial_days?: number;
  /** GATED_ACTIONS; absent: the service's. */
  gated_actions?: string[];
}

/** What an event's row says beyond `data`: the registration took the default trial length. */
export interface PolicyHints {
  default_trial?: boolean | null;
}

type Parser = (value: string) => { ok: Partial<PolicySettings> } | { error: string };

const PARSERS: Record<string, Parser> = {
  PAST_DUE_GRACE: (value) => {
    try {
      return { ok: { past_due_grace_ms: parseDurationMs(value) } };
    } catch {
      return {
        error: `PAST_DUE_GRACE="${value}" is not a duration; write it like 3d, 72h or P3D, or none for no grace.`,
      };
    }
  },
  DEFAULT_TRIAL_DAYS: (value) => {
    const n = Number(value.trim());
    return value.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= 3650
      ? { ok: { default_trial_days: n } }
      : { error: `DEFAULT_TRIAL_DAYS="${value}" is not a whole number of days from 0 to 3650.` };
  },
  GATED_ACTIONS: (value) => {
    const actions = value
      .split(',')
      .map(normalizeAction)
      .filter((a) => a !== '');
    const never = actions.filter((a) => NEVER_GATED.has(a));
    if (never.length > 0)
      return {
        error: `GATED_ACTIONS="${value}" lists ${never.join(' and ')}, which the gate never stops (SPEC §2); remove it.`,
      };
    return { ok: { gated_actions: [...new Set(actions)] } };
  },
};

/** The setting names a what-if may change. */
export const POLICY_KEYS: readonly string[] = Object.keys(PARSERS);

/** Parses `KEY=VALUE` pairs; every bad one gives one sentence, so all can be fixed at once. */
export function parsePolicySettings(pairs: readonly string[]): {
  settings: PolicySettings;
  errors: string[];
} {
  const settings: PolicySettings = {};
  const errors: string[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    const parse = PARSERS[key.toUpperCase()];
    if (eq < 0) {
      errors.push(`--set "${pair}" has no value; write it as KEY=VALUE, e.g. PAST_DUE_GRACE=3d.`);
    } else if (!parse) {
      errors.push(
        `--set ${key} is not a setting the fold or the gate reads; use one of ${POLICY_KEYS.join(', ')}.`,
      );
    } else {
      const r = parse(pair.slice(eq + 1));
      if ('error' in r) errors.push(r.error);
      else Object.assign(settings, r.ok);
    }
  }
  return { settings, errors };
}

/** True when the settings change nothing the fold reads (GATED_ACTIONS only matters to the gate). */
export function changesTheFold(settings: PolicySettings): boolean {
  return settings.past_due_grace_ms !== undefined || settings.default_trial_days !== undefined;
}

/**
 * The kinds stamped with PAST_DUE_GRACE when stored: the evidence that can start a dunning spell
 * (a failed payment, a `past_due`/`unpaid` snapshot).
 */
const GRACE_STAMPED: ReadonlySet<string> = new Set([
  'stripe.payment_failed',
  'stripe.subscription_started',
  'stripe.subscription_updated',
]);

/** The registration's trial end for `days` from its time, as registerAccount computes it. */
function trialEndAfter(occurredAt: string, days: number): string | null {
  return days > 0 ? new Date(Date.parse(occurredAt) + days * 86_400_000).toISOString() : null;
}

/**
 * The event as it would have been stored with the proposed settings in force. The same object
 * when nothing it carries depends on them, so a caller can tell that the decision is shared.
 */
export function underPolicy(
  event: BillingEvent,
  settings: PolicySettings,
  hints: PolicyHints = {},
): BillingEvent {
  const data = event.data;
  const grace = settings.past_due_grace_ms;
  if (GRACE_STAMPED.has(data.kind) && grace !== undefined) {
    const stamped = (data as { past_due_grace_ms?: number | null }).past_due_grace_ms ?? null;
    return stamped === grace
      ? event
      : { ...event, data: { ...data, past_due_grace_ms: grace } as EventData };
  }
  const days = settings.default_trial_days;
  if (data.kind === 'account.registered' && days !== undefined && hints.default_trial === true) {
    const trialEnd = trialEndAfter(event.occurred_at, days);
    return trialEnd === data.trial_end
      ? event
      : { ...event, data: { ...data, trial_end: trialEnd } };
  }
  return event;
}

/** A what-if's `--at`: an ISO-8601 time, as an ISO string; else the sentence that says so. */
export function parseAtTime(raw: string): { at: string } | { error: string } {
  const t = Date.parse(raw);
  return Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(raw.trim())
    ? { error: `--at "${raw}" is not a time; write it as ISO-8601, e.g. 2026-12-01T09:00:00Z.` }
    : { at: new Date(t).toISOString() };
}
