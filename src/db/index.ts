import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './types.js';

export { migrateToLatest } from './migrations.js';
export type { Database } from './types.js';

export type DatabaseKind = 'pglite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** resolves when the database answers a trivial query (readiness) */
  ping(): Promise<void>;
  close(): Promise<void>;
}

function handle(db: Kysely<Database>, kind: DatabaseKind): DatabaseHandle {
  return {
    db,
    kind,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/**
 * Opens the database: PostgreSQL when DATABASE_URL is set (a pg.Pool), else the embedded PGlite
 * with its files in DATA_DIR/db. Does not migrate: call migrateToLatest(handle.db).
 */
export async function createDatabase(
  config: Pick<Config, 'databaseUrl' | 'dbDir'>,
  opts: { poolSize?: number } = {},
): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: opts.poolSize ?? 10 });
    // a dropped idle connection must not crash the process
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return handle(db, 'postgres');
  }
  mkdirSync(config.dbDir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new Kysely<Database>({
    dialect: new PGliteDialect(async () => {
      const instance = await PGlite.create(config.dbDir);
      return instance;
    }),
  });
  return handle(db, 'pglite');
}

/** Postgres error code of a unique-constraint violation (both drivers report `code`). */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === '23505';
}
