import type { Kysely } from 'kysely';
import type { Database, RefreshTokenRow } from '../types.js';

export interface RefreshTokensRepository {
  create(t: {
    id: string;
    userId: string;
    familyId: string;
    tokenHash: string;
    expiresAt: Date;
  }): Promise<void>;
  findByHash(tokenHash: string): Promise<RefreshTokenRow | undefined>;
  /**
   * Atomically marks `id` as rotated (revoked, replaced by `replacedBy`) and inserts the successor.
   * Returns false when `id` was already revoked (a concurrent rotation or reuse won the race).
   */
  rotate(
    id: string,
    next: { id: string; userId: string; familyId: string; tokenHash: string; expiresAt: Date },
  ): Promise<boolean>;
  /** Revokes every live token of a family. */
  revokeFamily(familyId: string): Promise<number>;
  /** Deletes tokens that expired before `before` (housekeeping). */
  deleteExpired(before: Date): Promise<number>;
}

export function createRefreshTokensRepository(db: Kysely<Database>): RefreshTokensRepository {
  return {
    async create(t) {
      await db
        .insertInto('refresh_tokens')
        .values({
          id: t.id,
          user_id: t.userId,
          family_id: t.familyId,
          token_hash: t.tokenHash,
          expires_at: t.expiresAt,
        })
        .execute();
    },
    findByHash: (tokenHash) =>
      db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst(),
    rotate: (id, next) =>
      db.transaction().execute(async (trx) => {
        const res = await trx
          .updateTable('refresh_tokens')
          .set({ revoked_at: new Date(), replaced_by: next.id })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) return false;
        await trx
          .insertInto('refresh_tokens')
          .values({
            id: next.id,
            user_id: next.userId,
            family_id: next.familyId,
            token_hash: next.tokenHash,
            expires_at: next.expiresAt,
          })
          .execute();
        return true;
      }),
    async revokeFamily(familyId) {
      const res = await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: new Date() })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(res.numUpdatedRows);
    },
    async deleteExpired(before) {
      const res = await db.deleteFrom('refresh_tokens').where('expires_at', '<', before).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
