import { type Logger, pino } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Hides credentials carried in a URL: `access_token` (EventSource) and `sig` (signed media links). */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:access_token|sig)=)[^&#]*/g, '$1[redacted]');
}

/** Structured JSON logs (pino). Secrets in headers, bodies and URLs are redacted. */
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
