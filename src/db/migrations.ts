import {
  type Kysely,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
  Migrator,
  sql,
} from 'kysely';

/**
 * Every schema migration, in code (a static provider: works from src and from dist alike).
 * Names sort in application order. Never edit a released migration: add a new one.
 */
export const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('family_id', 'uuid', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('revoked_at', 'timestamptz')
        .addColumn('replaced_by', 'uuid')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex('refresh_tokens_family_idx')
        .on('refresh_tokens')
        .column('family_id')
        .execute();
      await db.schema.createIndex('refresh_tokens_user_idx').on('refresh_tokens').column('user_id').execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('status', 'text', (c) =>
          c.notNull().check(sql`status in ('queued', 'processing', 'completed', 'failed', 'canceled')`),
        )
        .addColumn('video_key', 'text', (c) => c.notNull())
        .addColumn('original_name', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('probe', 'jsonb', (c) => c.notNull())
        .addColumn('options', 'jsonb', (c) => c.notNull())
        .addColumn('chunks_total', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('chunks_done', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('frames_total', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('frames_done', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('summary', 'jsonb')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('started_at', 'timestamptz')
        .addColumn('finished_at', 'timestamptz')
        .execute();
      await sql`create index jobs_user_created_idx on jobs (user_id, created_at desc, id desc)`.execute(db);
      await db.schema.createIndex('jobs_status_idx').on('jobs').column('status').execute();

      await db.schema
        .createTable('job_chunks')
        .addColumn('job_id', 'uuid', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
        .addColumn('chunk_index', 'integer', (c) => c.notNull())
        .addColumn('start_sec', 'double precision', (c) => c.notNull())
        .addColumn('end_sec', 'double precision', (c) => c.notNull())
        .addColumn('start_frame', 'integer', (c) => c.notNull())
        .addColumn('frame_count', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('frames_done', 'integer', (c) => c.notNull().defaultTo(0))
        // which frames of the chunk are analysed ({ indices, timestamps }), written by the planner
        .addColumn('sample', 'jsonb')
        .addColumn('error', 'text')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('job_chunks_pk', ['job_id', 'chunk_index'])
        .execute();

      await db.schema
        .createTable('frames')
        .addColumn('job_id', 'uuid', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
        .addColumn('frame_index', 'integer', (c) => c.notNull())
        .addColumn('timestamp', 'double precision', (c) => c.notNull())
        .addColumn('detections', 'jsonb', (c) => c.notNull())
        .addPrimaryKeyConstraint('frames_pk', ['job_id', 'frame_index'])
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['frames', 'job_chunks', 'jobs', 'refresh_tokens', 'users'])
        await db.schema.dropTable(t).ifExists().execute();
    },
  },

  /**
   * Usernames are unique without regard to case (`Bob` and `bob` are one name). A database made
   * before this may hold such pairs: the oldest account of each group keeps its name and the
   * others are renamed `<name>~<n>` (n = 2, 3, … by age). `~` is a character registration never
   * allows, so the new names cannot clash with anyone's; their owners log in with them, with the
   * same password. (Operators find them with `select username from users where username like '%~%'`.)
   */
  '0002_usernames_case_insensitive': {
    async up(db: Kysely<any>) {
      await sql`
        update users u set username = d.username || '~' || d.rank
        from (
          select id, username,
                 row_number() over (partition by lower(username) order by created_at, id) as rank
          from users
        ) d
        where u.id = d.id and d.rank > 1`.execute(db);
      await sql`create unique index users_username_lower_idx on users (lower(username))`.execute(db);
    },
    async down(db: Kysely<any>) {
      await sql`drop index if exists users_username_lower_idx`.execute(db);
    },
  },

  /** API keys for scripts: only a hash of the secret is stored (the key is shown once). */
  '0003_api_keys': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('scopes', 'jsonb', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('last_used_at', 'timestamptz')
        .execute();
      await db.schema
        .createIndex('api_keys_user_idx')
        .on('api_keys')
        .columns(['user_id', 'created_at'])
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('api_keys').ifExists().execute();
    },
  },

  /**
   * A client's `tag` on a job, and the Idempotency-Key of POST /v1/jobs: one row per (user, key)
   * with the fingerprint of the request that first used it and the job it made (deleted with it).
   */
  '0004_job_tag_and_idempotency_keys': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('jobs').addColumn('tag', 'text').execute();
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('job_id', 'uuid', (c) => c.references('jobs.id').onDelete('cascade'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'key'])
        .execute();
      await db.schema
        .createIndex('idempotency_keys_created_idx')
        .on('idempotency_keys')
        .column('created_at')
        .execute();
      // the retention sweep looks for finished jobs by age
      await sql`create index jobs_finished_idx on jobs (finished_at) where finished_at is not null`.execute(
        db,
      );
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('idempotency_keys').ifExists().execute();
      await sql`drop index if exists jobs_finished_idx`.execute(db);
      await db.schema.alterTable('jobs').dropColumn('tag').execute();
    },
  },

  /** Every attempt to deliver a job's callback: when, which attempt, the answer or the error. */
  '0005_deliveries': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('deliveries')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('job_id', 'uuid', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
        .addColumn('attempted_at', 'timestamptz', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('succeeded', 'boolean', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('deliveries_job_idx')
        .on('deliveries')
        .columns(['job_id', 'attempted_at'])
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('deliveries').ifExists().execute();
    },
  },

  /**
   * Frames that could not be decoded are skipped, not fatal (issue 9): per chunk how many and
   * why, and on the job the recounted total and the sentences.
   */
  '0006_frames_skipped': {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('job_chunks')
        .addColumn('frames_skipped', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('job_chunks').addColumn('skip_reason', 'text').execute();
      await db.schema
        .alterTable('jobs')
        .addColumn('frames_skipped', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('jobs').addColumn('warnings', 'text').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('jobs').dropColumn('warnings').execute();
      await db.schema.alterTable('jobs').dropColumn('frames_skipped').execute();
      await db.schema.alterTable('job_chunks').dropColumn('skip_reason').execute();
      await db.schema.alterTable('job_chunks').dropColumn('frames_skipped').execute();
    },
  },
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new StaticProvider() });
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const result = await createMigrator(db).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const cause = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`Database migration ${failed?.migrationName ?? '(unknown)'} failed: ${cause}`, {
      cause: result.error,
    });
  }
  return result;
}
