import type { IdempotencyKeysRepository } from '../db/repositories/idempotency-keys.js';
import { ConflictError, UnprocessableError } from '../errors.js';

/**
 * `Idempotency-Key` on POST /v1/jobs, as Stripe does it: the same key from the same user within
 * 24 hours returns the job the first request made instead of making another. The key is bound to
 * the request's fingerprint (the video's SHA-256 and the options): the same key with a different
 * request is a 422. Of two concurrent requests with one key exactly one claims it (an INSERT … ON
 * CONFLICT DO NOTHING); the other waits a few seconds for the first to finish making its job and
 * returns that job, or answers 409 (retry shortly) if it is still not made.
 */

export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
/** A claim this old without a job belongs to a request that died (a crash between claim and insert). */
export const STALE_CLAIM_MS = 15 * 60_000;

export type IdempotencyOutcome = { kind: 'claimed' } | { kind: 'replay'; jobId: string };

export interface Idempotency {
  /** Claims the key for this request, or names the job an earlier request with it made. */
  begin(userId: string, key: string, fingerprint: string): Promise<IdempotencyOutcome>;
  /** The claimed key's job exists. */
  complete(userId: string, key: string, jobId: string): Promise<void>;
  /** Making the job failed: the key is free again (a retry with it may succeed). */
  release(userId: string, key: string): Promise<void>;
  /** Has the user used this key within the last 24 hours? */
  isKnown(userId: string, key: string): Promise<boolean>;
}

export function createIdempotency(deps: {
  keys: IdempotencyKeysRepository;
  /** how long a second request waits for the first to make its job (ms) */
  waitMs?: number;
  pollMs?: number;
  now?: () => Date;
}): Idempotency {
  const { keys } = deps;
  const now = deps.now ?? (() => new Date());
  const waitMs = deps.waitMs ?? 5000;
  const pollMs = deps.pollMs ?? 100;
  const ago = (ms: number) => new Date(now().getTime() - ms);

  return {
    async begin(userId, key, fingerprint) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        if (await keys.claim(userId, key, fingerprint, now())) return { kind: 'claimed' };
        const row = await keys.find(userId, key);
        if (row) {
          if (row.createdAt < ago(IDEMPOTENCY_TTL_MS)) {
            await keys.deleteIfOlder(userId, key, ago(IDEMPOTENCY_TTL_MS)); // expired: use it afresh
            continue;
          }
          if (row.fingerprint !== fingerprint) {
            throw new UnprocessableError(
              'This Idempotency-Key was already used with a different request; use a new key for a new job.',
              'IDEMPOTENCY_KEY_REUSED',
            );
          }
          if (row.jobId) return { kind: 'replay', jobId: row.jobId };
          if (row.createdAt < ago(STALE_CLAIM_MS)) {
            await keys.deleteIfOlder(userId, key, ago(STALE_CLAIM_MS));
            continue;
          }
        }
        // claimed by a request still making its job (or released just now): wait for it
        if (Date.now() >= deadline) {
          throw new ConflictError(
            'A request with this Idempotency-Key is still being processed; retry in a few seconds.',
            'IDEMPOTENCY_KEY_IN_USE',
          );
        }
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    complete: (userId, key, jobId) => keys.setJob(userId, key, jobId),
    release: (userId, key) => keys.release(userId, key),
    async isKnown(userId, key) {
      const row = await keys.find(userId, key);
      return !!row && row.createdAt >= ago(IDEMPOTENCY_TTL_MS);
    },
  };
}
