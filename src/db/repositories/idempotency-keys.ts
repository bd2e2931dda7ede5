import type { Kysely } from 'kysely';
import type { Database } from '../types.js';

/**
 * The `idempotency_keys` table: which job an `Idempotency-Key` of POST /v1/jobs made. A row is
 * claimed (inserted without a job) before the job is made, so of two concurrent requests with
 * the same key exactly one makes a job; the claim gets the job's id once it exists, and is
 * released (deleted) if making the job fails. Rows older than a day are purged.
 */

export interface IdempotencyRecord {
  fingerprint: string;
  /** null while the request that claimed the key is still making its job */
  jobId: string | null;
  createdAt: Date;
}

export interface IdempotencyKeysRepository {
  /** Inserts the claim; false when (user, key) already has a row. */
  claim(userId: string, key: string, fingerprint: string, at: Date): Promise<boolean>;
  find(userId: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** The claimed key's job now exists. */
  setJob(userId: string, key: string, jobId: string): Promise<void>;
  /** Making the job failed: the key may be used again. */
  release(userId: string, key: string): Promise<void>;
  /** Deletes the row of (user, key) if it was made before `before` (an expired key, or a claim whose request died). */
  deleteIfOlder(userId: string, key: string, before: Date): Promise<boolean>;
  /** Housekeeping: deletes every row made before `before`. */
  deleteExpired(before: Date): Promise<number>;
}

export function createIdempotencyKeysRepository(db: Kysely<Database>): IdempotencyKeysRepository {
  const row = (userId: string, key: string) =>
    db.deleteFrom('idempotency_keys').where('user_id', '=', userId).where('key', '=', key);
  return {
    async claim(userId, key, fingerprint, at) {
      const r = await db
        .insertInto('idempotency_keys')
        .values({ user_id: userId, key, fingerprint, created_at: at })
        .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    async find(userId, key) {
      const r = await db
        .selectFrom('idempotency_keys')
        .select(['fingerprint', 'job_id', 'created_at'])
        .where('user_id', '=', userId)
        .where('key', '=', key)
        .executeTakeFirst();
      return r && { fingerprint: r.fingerprint, jobId: r.job_id, createdAt: new Date(r.created_at) };
    },
    async setJob(userId, key, jobId) {
      await db
        .updateTable('idempotency_keys')
        .set({ job_id: jobId })
        .where('user_id', '=', userId)
        .where('key', '=', key)
        .execute();
    },
    async release(userId, key) {
      await row(userId, key).where('job_id', 'is', null).execute();
    },
    async deleteIfOlder(userId, key, before) {
      const r = await row(userId, key).where('created_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async deleteExpired(before) {
      const r = await db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
