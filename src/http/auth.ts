import type { NextFunction, Request, Response } from 'express';

import { AppError } from '../domain/errors';
import { sendError } from './errors';
import { limitAuthFailures, type WindowCounter } from './security';
import { tokensEqual } from './tokens';

/** `Authorization: Bearer <ADMIN_TOKEN>` on /v1, compared in constant time. */
export function requireAdmin(adminToken: string, failures?: WindowCounter) {
  const refuse = (req: Request, res: Response, error: AppError) =>
    sendError(res, failures ? limitAuthFailures(failures, req.ip ?? 'unknown', error) : error);
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match?.[1]) {
      refuse(
        req,
        res,
        new AppError(
          'missing_admin_token',
          'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".',
          401,
        ),
      );
      return;
    }
    if (!tokensEqual(match[1], adminToken)) {
      refuse(
        req,
        res,
        new AppError('invalid_admin_token', 'The admin token is not valid for this server.', 401),
      );
      return;
    }
    next();
  };
}
