// trigger <scenario> --account <id>: the Stripe manual test procedure as a command. Posts one
// correctly signed, realistic webhook (either Stripe API shape, or a MyASP form) into the running
// service for the named account, waits until its account workflow has processed it, then prints
// what the procedure's 結果確認 step looks at: status, scheduled_cancel_at and the audit rows.
// Needs no network beyond the service itself; refuses anything but a local or explicitly allowed
// service (src/cli/trigger-target.ts).
import type { Command } from 'commander';
import Stripe from 'stripe';

import { parseDurationMs } from '../../domain/duration';
import { AppError } from '../../domain/errors';
import {
  buildTrigger,
  eventTime,
  SCENARIOS,
  type TriggerAccount,
  type TriggerPost,
} from '../../ops/trigger/scenarios';
import { PAYLOAD_SHAPES, type PayloadShape } from '../../ops/trigger/stripe-payloads';
import type { CliContext } from '../context';
import { EXIT, writeJson, writeTable } from '../output';
import type { Runner } from '../run';
import { resolveTriggerTarget, type TriggerTarget } from '../trigger-target';

interface TriggerOpts {
  account: string;
  shape: string;
  url?: string;
  allow?: boolean;
  timeout: string;
  json?: boolean;
}

type Row = Record<string, unknown>;

interface Service {
  get(path: string): Promise<{ status: number; body: Row }>;
  post(
    path: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: Row }>;
}

function service(target: TriggerTarget): Service {
  const call = async (path: string, init: RequestInit) => {
    let res: Response;
    try {
      res = await fetch(target.url + path, { ...init, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new AppError(
        'service_unreachable',
        `The service at ${target.url} did not answer (${err instanceof Error ? err.message : String(err)}); is \`npm start\` running?`,
      );
    }
    const text = await res.text();
    let body: Row;
    try {
      body = text ? (JSON.parse(text) as Row) : {};
    } catch {
      body = { text };
    }
    return { status: res.status, body };
  };
  const admin = { authorization: `Bearer ${target.adminToken}` };
  return {
    get: (path) => call(path, { headers: admin }),
    post: (path, body, headers) => call(path, { method: 'POST', body, headers }),
  };
}

/** A JSON field as text, or null when absent. */
const text = (v: unknown): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v);

interface TriggerResult {
  scenario: string;
  description: string;
  provider: 'stripe' | 'myasp';
  shape: PayloadShape | null;
  event_type: string;
  provider_event_id: string | null;
  event_id: string;
  account_id: string;
  delivery: string | null;
  outcome: string | null;
  status_before: string | null;
  status: string | null;
  scheduled_cancel_at: string | null;
  status_reason: string | null;
  audit: Row[];
}

const accountPath = (id: string) => `/v1/accounts/${encodeURIComponent(id)}`;

async function readAccount(svc: Service, id: string): Promise<Row | null> {
  const r = await svc.get(accountPath(id));
  if (r.status === 404) return null;
  if (r.status !== 200) throw answerError('reading the account', r);
  return r.body;
}

function answerError(what: string, r: { status: number; body: Row }): AppError {
  const error = r.body.error as { code?: string; message?: string } | undefined;
  return new AppError(
    'trigger_failed',
    `The service answered ${r.status} when ${what}: ${error?.message ?? JSON.stringify(r.body)}`,
  );
}

function post(svc: Service, target: TriggerTarget, p: TriggerPost) {
  if (p.provider === 'stripe') {
    if (!target.stripeSecret)
      throw new AppError('no_stripe_secret', `No Stripe webhook secret in ${target.secretsFrom}.`);
    const body = JSON.stringify(p.event, null, 2);
    const signature = Stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret: target.stripeSecret,
    });
    return svc.post('/webhooks/stripe', body, {
      'content-type': 'application/json; charset=utf-8',
      'stripe-signature': signature,
    });
  }
  if (!target.myaspToken)
    throw new AppError('no_myasp_token', `No MyASP token in ${target.secretsFrom}.`);
  return svc.post('/webhooks/myasp', new URLSearchParams(p.fields).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
    'x-myasp-token': target.myaspToken,
  });
}

async function processed(svc: Service, accountId: string, eventId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await svc.get(`${accountPath(accountId)}/events`);
    const events = (r.body.events ?? []) as Row[];
    const event = events.find((e) => String(e.id) === eventId);
    const audit = (r.body.audit ?? []) as Row[];
    // Events and audit rows are read by separate queries: wait until both show the event.
    const audited = audit.some((a) => String(a.event_id) === eventId);
    if (event && event.outcome !== null && event.outcome !== undefined && audited) {
      return { event, audit: audit.slice(0, 5) };
    }
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A duration (src/domain/duration.ts); a bare number is seconds, as it always was here. */
function parseTimeout(raw: string): number {
  const text = raw.trim();
  let ms: number | null = null;
  try {
    ms = /^\d+$/.test(text) ? Number(text) * 1000 : parseDurationMs(text);
  } catch {
    // worded below, for this option
  }
  if (ms === null) {
    throw new AppError('invalid_timeout', `--timeout must look like 30s or 500ms; got "${raw}".`);
  }
  return ms;
}

function parseShape(raw: string): PayloadShape {
  if ((PAYLOAD_SHAPES as readonly string[]).includes(raw)) return raw as PayloadShape;
  throw new AppError(
    'invalid_shape',
    `--shape must be legacy (API 2024-06-20) or basil (2025-03-31.basil); got "${raw}".`,
  );
}

async function trigger(ctx: CliContext, scenario: string, opts: TriggerOpts): Promise<number> {
  const shape = parseShape(opts.shape);
  const timeoutMs = parseTimeout(opts.timeout);
  const target = resolveTriggerTarget(opts);
  const svc = service(target);
  const before = await readAccount(svc, opts.account);
  const account: TriggerAccount = {
    account_id: opts.account,
    stripe_customer_id: (before?.stripe_customer_id as string | null) ?? null,
    stripe_subscription_id: (before?.stripe_subscription_id as string | null) ?? null,
    myasp_user_id: (before?.myasp_user_id as string | null) ?? null,
    as_of: (before?.as_of as string | null) ?? null,
  };
  const p = buildTrigger(scenario, { account, shape, created: eventTime(account, Date.now()) });
  const answer = await post(svc, target, p);
  if (answer.status !== 200) throw answerError(`posting the ${p.provider} webhook`, answer);
  const eventId = text(answer.body.event_id) ?? '';
  const accountId = text(answer.body.account_id) ?? opts.account;
  const done = await processed(svc, accountId, eventId, timeoutMs);
  const after = await readAccount(svc, accountId);
  const result: TriggerResult = {
    scenario,
    description: p.description,
    provider: p.provider,
    shape: p.provider === 'stripe' ? shape : null,
    event_type: p.provider === 'stripe' ? p.event.type : `myasp status ${p.fields.status}`,
    provider_event_id: p.provider === 'stripe' ? p.event.id : (p.fields.event_id ?? null),
    event_id: eventId,
    account_id: accountId,
    delivery: text(answer.body.delivery),
    outcome: text(done?.event.outcome),
    status_before: text(before?.status),
    status: text(after?.status),
    scheduled_cancel_at: text(after?.scheduled_cancel_at),
    status_reason: text(after?.status_reason),
    audit: done?.audit ?? [],
  };
  if (opts.json) writeJson(ctx.out, result);
  else writeResult(ctx.out, result, target);
  if (!done) {
    ctx.err.write(
      `Event ${eventId} was stored but not processed within ${timeoutMs / 1000} s; the service delivers it by itself. Check \`npm run ops -- daily-check\` (delivery_backlog).\n`,
    );
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

function writeResult(out: NodeJS.WritableStream, r: TriggerResult, target: TriggerTarget) {
  const shape = r.shape ? ` (${r.shape} shape)` : '';
  out.write(
    `posted ${r.event_type} ${r.provider_event_id ?? ''}${shape} to ${target.url}: ${r.description}\n` +
      `stored as event ${r.event_id} for ${r.account_id}; outcome: ${r.outcome ?? 'not processed yet'}\n\n` +
      `結果確認 / result\n` +
      `  status:              ${r.status_before ?? '(no account)'} → ${r.status ?? '(no account)'}\n` +
      `  scheduled_cancel_at: ${r.scheduled_cancel_at ?? '-'}\n` +
      `  reason:              ${r.status_reason ?? '-'}\n\n` +
      'audit rows (newest first):\n',
  );
  writeTable(
    out,
    ['id', 'event_id', 'action', 'from', 'to', 'details', 'created_at'],
    r.audit.map((a) => [
      a.id,
      a.event_id,
      a.action,
      a.from_status,
      a.to_status,
      JSON.stringify(a.details ?? {}),
      a.created_at,
    ]),
  );
}

export function registerTriggerCommands(program: Command, run: Runner): void {
  program
    .command('trigger <scenario>')
    .description(
      `post a signed test webhook for an account into the running service and show the result; scenarios: ${Object.keys(SCENARIOS).join(', ')}`,
    )
    .requiredOption('--account <id>', 'the account to act on')
    .option(
      '--shape <shape>',
      'Stripe payload shape: basil (2025-03-31.basil) or legacy (2024-06-20)',
      'basil',
    )
    .option('--url <url>', 'the service (default: the one `npm start` runs here)')
    .option(
      '--allow',
      'allow a service other than the local one, with STRIPE_WEBHOOK_SECRET, MYASP_TOKEN, ADMIN_TOKEN from the environment',
    )
    .option('--timeout <duration>', 'how long to wait for the account workflow', '30s')
    .option('--json', 'machine-readable output')
    .action((scenario: string, opts: TriggerOpts) => run((ctx) => trigger(ctx, scenario, opts)));
}
