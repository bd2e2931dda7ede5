import { type Logger, pino } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Structured JSON logs (pino). Secrets in headers and bodies are redacted. */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  bindings: Record<string, unknown> = {},
): Logger {
  return pino({
    level: config.logLevel,
    base: { pid: process.pid, ...bindings },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'password',
        'refreshToken',
        'accessToken',
        '*.password',
        '*.refreshToken',
      ],
      censor: '[redacted]',
    },
  });
}
