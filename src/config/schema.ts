// The plain settings of the service as a zod schema over the environment: defaults, ports and
// counts checked, the first problem as one sentence (firstIssue).
import { z } from 'zod';

/** A comma-separated setting as its non-empty items. */
export function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const port = (name: string, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const n = Number(v ?? fallback);
      if (!Number.isInteger(n) || n < 0 || n > 65535) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a port number between 0 (any free port) and 65535.`,
        });
      }
      return n;
    });

const positiveInt = (name: string, fallback: number, min = 0) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const n = Number(v ?? fallback);
      if (!Number.isInteger(n) || n < min) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a whole number of ${min} or more.`,
        });
      }
      return n;
    });

export const envSchema = z.object({
  DATABASE_URL: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('billing'),
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  STRIPE_API_KEY: z.string().optional(),
  MYASP_TOKEN: z.string().optional(),
  ADMIN_TOKEN: z.string().optional(),
  PORT: port('PORT', 3000),
  GATED_ACTIONS: z.string().optional(),
  DEFAULT_TRIAL_DAYS: positiveInt('DEFAULT_TRIAL_DAYS', 14),
  PAST_DUE_GRACE: z.string().optional(),
  STRIPE_TOLERANCE_SECONDS: positiveInt('STRIPE_TOLERANCE_SECONDS', 300),
  DELIVERY_WAIT_MS: positiveInt('DELIVERY_WAIT_MS', 0),
  DELIVERY_HOLD_MS: positiveInt('DELIVERY_HOLD_MS', 10_000),
  DELIVERY_MAX_IN_FLIGHT: positiveInt('DELIVERY_MAX_IN_FLIGHT', 4, 1),
  DB_STATEMENT_TIMEOUT_MS: positiveInt('DB_STATEMENT_TIMEOUT_MS', 5000),
  ADMIN_RATE_LIMIT_PER_MINUTE: positiveInt('ADMIN_RATE_LIMIT_PER_MINUTE', 600),
  GATE_TOKENS: z.string().optional(),
  GATE_RATE_LIMIT_PER_MINUTE: positiveInt('GATE_RATE_LIMIT_PER_MINUTE', 60_000, 1),
  AUTH_FAILURE_LIMIT_PER_MINUTE: positiveInt('AUTH_FAILURE_LIMIT_PER_MINUTE', 60),
  DATA_DIR: z.string().default('.data'),
  LOCAL_PG_PORT: port('LOCAL_PG_PORT', 54329),
  LOCAL_TEMPORAL_PORT: port('LOCAL_TEMPORAL_PORT', 7233),
  LOCAL_TEMPORAL_UI_PORT: port('LOCAL_TEMPORAL_UI_PORT', 8233),
  NOTIFY_URL: z.string().optional(),
  NOTIFY_SECRET: z.string().optional(),
  NOTIFY_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type LogLevel = z.infer<typeof envSchema>['LOG_LEVEL'];

export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const name = issue?.path.join('.') ?? 'setting';
  return issue?.code === 'custom' ? issue.message : `${name} is invalid: ${issue?.message ?? ''}`;
}
