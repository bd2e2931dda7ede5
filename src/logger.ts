import { type Logger, pino } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Query parameters whose values are credentials: `access_token` (EventSource) and `sig` (signed media links). */
const SECRET_PARAMS = new Set(['access_token', 'sig']);

/** A query parameter's name as a server reads it: `+` is a space, then percent-decoded. */
function decodedName(raw: string): string {
  const spaced = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced).toLowerCase();
  } catch {
    return spaced.toLowerCase(); // a malformed escape: compare it as it is
  }
}

/**
 * Hides credentials carried in a URL. Names are compared after percent-decoding, the way the
 * query parser reads them, so `?access%5Ftoken=` is redacted like `?access_token=`.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const end = hash < 0 ? url.length : hash;
  const params = url
    .slice(q + 1, end)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return SECRET_PARAMS.has(decodedName(name)) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, q + 1)}${params.join('&')}${url.slice(end)}`;
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
  /** where the lines go instead of stdout (tests read them) */
  destination?: { write(line: string): void },
): Logger {
  const pretty = !destination && stdoutIsTerminal && !config.isProduction && config.logLevel !== 'silent';
  const options = {
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
  };
  return destination ? pino(options, destination) : pino(options);
}
