import type { z } from 'zod';

import { AppError } from '../domain/errors';

/** Parses a request body with a zod schema; the first problem becomes one clear sentence. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || 'body';
  throw new AppError('invalid_request', `${field}: ${issue?.message ?? 'invalid'}.`, 400);
}
