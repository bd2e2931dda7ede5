import { type Kysely, sql } from 'kysely';
import { fromJson, toJson } from '../json.js';
import type { ApiKeysTable, Database } from '../types.js';

/**
 * The `api_keys` table: a user's keys for scripts. Only the SHA-256 of a key's secret is kept;
 * the key itself is shown once, when it is made. Revoking deletes the row.
 */

export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string;
  scopes: string[];
  secretHash: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface ApiKeysRepository {
  create(key: {
    id: string;
    userId: string;
    name: string;
    scopes: string[];
    secretHash: string;
  }): Promise<ApiKeyRecord>;
  /** With its owner's username (what a request authenticated by the key runs as). */
  findById(id: string): Promise<(ApiKeyRecord & { username: string }) | undefined>;
  listByOwner(userId: string): Promise<ApiKeyRecord[]>;
  countByOwner(userId: string): Promise<number>;
  delete(id: string, userId: string): Promise<boolean>;
  /** Records a use, at most once a minute per key (a write per request would be wasteful). */
  touch(id: string, at: Date): Promise<void>;
}

function toApiKeyRecord(r: {
  id: string;
  user_id: string;
  name: string;
  scopes: unknown;
  secret_hash: string;
  created_at: Date;
  last_used_at: Date | null;
}): ApiKeyRecord {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    scopes: fromJson<string[]>(r.scopes),
    secretHash: r.secret_hash,
    createdAt: new Date(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
  };
}

const COLUMNS = [
  'api_keys.id',
  'api_keys.user_id',
  'api_keys.name',
  'api_keys.scopes',
  'api_keys.secret_hash',
  'api_keys.created_at',
  'api_keys.last_used_at',
] as const satisfies readonly `api_keys.${keyof ApiKeysTable}`[];

export function createApiKeysRepository(db: Kysely<Database>): ApiKeysRepository {
  return {
    async create(k) {
      const row = await db
        .insertInto('api_keys')
        .values({
          id: k.id,
          user_id: k.userId,
          name: k.name,
          scopes: toJson(k.scopes),
          secret_hash: k.secretHash,
          created_at: new Date(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toApiKeyRecord(row);
    },
    async findById(id) {
      const r = await db
        .selectFrom('api_keys')
        .innerJoin('users', 'users.id', 'api_keys.user_id')
        .select([...COLUMNS, 'users.username'])
        .where('api_keys.id', '=', id)
        .executeTakeFirst();
      return r && { ...toApiKeyRecord(r), username: r.username };
    },
    async listByOwner(userId) {
      const rows = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .execute();
      return rows.map(toApiKeyRecord);
    },
    async countByOwner(userId) {
      const r = await db
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<string | number | bigint>().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async delete(id, userId) {
      const r = await db
        .deleteFrom('api_keys')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async touch(id, at) {
      await db
        .updateTable('api_keys')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) =>
          eb.or([
            eb('last_used_at', 'is', null),
            eb('last_used_at', '<', sql<Date>`${at}::timestamptz - interval '1 minute'`),
          ]),
        )
        .execute();
    },
  };
}
