// Catching the AppError a call throws, so its code, status and message can be asserted.
import { ConfigError } from '../../src/config';
import { AppError } from '../../src/domain/errors';

/** The AppError `fn` throws; rethrows anything else, and fails if nothing is thrown. */
export function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError, but nothing was thrown');
}

/** The message of the ConfigError `fn` throws (the one line start-up prints). */
export function configErrorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}
