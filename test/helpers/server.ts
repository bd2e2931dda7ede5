import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { createDatabase, type DatabaseHandle, migrateToLatest } from '../../src/db/index.js';
import { createRepositories, type Repositories } from '../../src/db/repositories/index.js';
import { resolveMediaBinaries } from '../../src/media/binaries.js';
import { probeVideo } from '../../src/media/probe.js';
import { createAuthService } from '../../src/services/auth.js';
import { createArgon2Hasher } from '../../src/services/auth-hasher.js';
import { createJobsService, type JobPipeline, noopPipeline } from '../../src/services/jobs.js';
import { type BlobStore, createLocalStorage } from '../../src/storage/local.js';

export type DbKind = 'pglite' | 'postgres';
export const DB_KINDS: DbKind[] = ['pglite', 'postgres'];
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh database for one test file: PGlite in a temp DATA_DIR, or a new PostgreSQL database
 * `wd_test_<random>` on this machine's server (dropped by `drop()`). Migrated.
 */
export interface TestDatabase {
  kind: DbKind;
  dataDir: string;
  databaseUrl: string | null;
  handle: DatabaseHandle;
  drop(): Promise<void>;
}

export async function createTestDatabase(kind: DbKind): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wd-test-'));
  let databaseUrl: string | null = null;
  let dbName: string | undefined;
  if (kind === 'postgres') {
    dbName = `wd_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const u = new URL(ADMIN_URL);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  }
  const handle = await createDatabase({ databaseUrl, dbDir: join(dataDir, 'db') });
  await migrateToLatest(handle.db);
  return {
    kind,
    dataDir,
    databaseUrl,
    handle,
    async drop() {
      await handle.close().catch(() => {});
      if (dbName) {
        const admin = new pg.Client({ connectionString: ADMIN_URL });
        await admin.connect();
        await admin.query(`drop database if exists ${dbName} with (force)`);
        await admin.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestServer {
  url: string;
  app: FastifyInstance;
  config: Config;
  repos: Repositories;
  storage: BlobStore;
  close(): Promise<void>;
}

/**
 * Builds and listens (port 0) an app over a test database. `env` overrides configuration; argon2
 * runs with modest real parameters (4 MiB, 1 pass) to keep the suite fast.
 */
export async function startServer(
  tdb: TestDatabase,
  env: Record<string, string> = {},
  opts: { pipeline?: JobPipeline; queuePing?: () => Promise<void>; storageDir?: string } = {},
): Promise<TestServer> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: tdb.dataDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
    ...(tdb.databaseUrl ? { DATABASE_URL: tdb.databaseUrl } : {}),
    ...env,
  });
  const repos = createRepositories(tdb.handle.db);
  const storage = createLocalStorage(opts.storageDir ?? config.storageDir);
  const hasher = createArgon2Hasher(config.argon2);
  const auth = createAuthService({ users: repos.users, tokens: repos.refreshTokens, config, hasher });
  const { ffprobe } = resolveMediaBinaries();
  const jobs = createJobsService({
    jobs: repos.jobs,
    storage,
    probe: (file) => probeVideo(ffprobe, file),
    config,
    isKnownModel: (name) => name === 'centernet' || name === 'yolo-test',
    pipeline: opts.pipeline ?? noopPipeline,
  });
  const app = await buildApp({
    config,
    db: tdb.handle.db,
    repos,
    auth,
    jobs,
    readiness: { queue: opts.queuePing ?? (async () => {}) },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${addr.port}`, app, config, repos, storage, close: () => app.close() };
}
