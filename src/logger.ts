import { type Logger, pino } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Hides credentials carried in a URL: `access_token` (EventSource) and `sig` (signed media links). */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:access_token|sig)=)[^&#]*/g, '$1[redacted]');
}

/**
 * Structured JSON logs (pino). Secrets in headers, bodies and URLs are redacted. On a terminal
 * (and not in production) the lines go through pino-pretty so a person can read them; anywhere
 * else (files, containers, log shippers) they stay one JSON object per line.
 */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'isProduction'>,
  bindings: Record<string, unknown> = {},
  stdoutIsTerminal = process.stdout.isTTY === true,
): Logger {
  const pretty = stdoutIsTerminal && !config.isProduction && config.logLevel !== 'silent';
  return pino({
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } }
      : {}),
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
    serializers: {
      // Fastify logs each request's URL; EventSource and <video> carry credentials in it
      req(req: { method?: string; url?: string; hostname?: string; ip?: string; id?: string }) {
        return {
          id: req.id,
          method: req.method,
          url: req.url ? redactUrl(req.url) : req.url,
          hostname: req.hostname,
          remoteAddress: req.ip,
        };
      },
    },
  });
}
