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
