import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitedError } from '../../errors.js';

/**
 * Several rate limits on one route (e.g. logins per address, and per address and username), each
 * with its own key and sentence. Built on @fastify/rate-limit's store, so the counters live in
 * Redis when the app registered the plugin with one (REDIS_URL: every API process shares them),
 * else in this process. The plugin's own route option allows one limit per route, hence this.
 * Keys include the client address as Fastify sees it: set TRUST_PROXY behind a proxy.
 */
export interface RouteLimit {
  /** a prefix that keeps this limit's counters apart from every other's */
  name: string;
  max: number;
  windowMs: number;
  /** what is counted: e.g. the address, or the address and username */
  key(request: FastifyRequest): string;
  /** the 429's sentence; `after` reads like "in 42 seconds" */
  message(after: string): string;
}

/** The client's address as a rate-limit key: an IPv6 address stands for its /56 (one customer's block). */
export function clientAddress(request: FastifyRequest): string {
  return normalizeIP(request.ip);
}

/** "in 42 seconds", "in 3 minutes", "in 2 hours". Pure. */
export function waitPhrase(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  const unit = (n: number, word: string) => `in ${n} ${word}${n === 1 ? '' : 's'}`;
  if (s < 120) return unit(s, 'second');
  if (s < 7200) return unit(Math.ceil(s / 60), 'minute');
  return unit(Math.ceil(s / 3600), 'hour');
}

/** A preHandler hook that counts the request against every limit in order and stops at the first exceeded (429 with Retry-After). */
export function rateLimits(app: FastifyInstance, limits: RouteLimit[]) {
  const checks = limits.map((limit) => ({
    limit,
    run: app.createRateLimit({
      max: limit.max,
      timeWindow: limit.windowMs,
      keyGenerator: (request) => `${limit.name}:${limit.key(request)}`,
      // a store that cannot be reached (Redis down) lets requests through rather than locking everyone out
      skipOnError: true,
    }),
  }));
  return async function applyRateLimits(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    for (const { limit, run } of checks) {
      const r = await run(request);
      if (r.isAllowed || !r.isExceeded) continue;
      reply.header('retry-after', String(Math.max(1, r.ttlInSeconds)));
      throw new RateLimitedError(limit.message(waitPhrase(r.ttlInSeconds)));
    }
  };
}
