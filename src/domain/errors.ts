/**
 * The one error type the domain and HTTP layers throw on purpose. `code` is stable and
 * machine-readable; `message` is a sentence a user can act on; `status` is the HTTP answer.
 * Never put secrets or tokens in either.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
