import { type Kysely, sql } from 'kysely';
import type { Database, UserRow } from '../types.js';

export interface UsersRepository {
  /** Inserts a user; a taken username throws the driver's unique violation (code 23505). */
  create(user: { id: string; username: string; passwordHash: string }): Promise<UserRow>;
  /** Usernames are compared without regard to case (a unique index on lower(username)). */
  findByUsername(username: string): Promise<UserRow | undefined>;
  findById(id: string): Promise<UserRow | undefined>;
}

export function createUsersRepository(db: Kysely<Database>): UsersRepository {
  return {
    create: (u) =>
      db
        .insertInto('users')
        .values({ id: u.id, username: u.username, password_hash: u.passwordHash })
        .returningAll()
        .executeTakeFirstOrThrow(),
    findByUsername: (username) =>
      db
        .selectFrom('users')
        .selectAll()
        .where(sql<boolean>`lower(username) = lower(${username})`)
        .executeTakeFirst(),
    findById: (id) => db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst(),
  };
}
