import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs. Secrets never reach here: headers and bodies are not logged. */
export function createLogger(
  level: string = 'info',
  name = 'billing',
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    redact: {
      paths: ['*.token', '*.secret', '*.authorization', '*.password', 'req.headers'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
