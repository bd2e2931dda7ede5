import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { type Config, loadConfig } from '../../src/config.js';
import { createDatabase, type DatabaseHandle, migrateToLatest } from '../../src/db/index.js';
import type { Repositories } from '../../src/db/repositories/index.js';
import type { Logger } from '../../src/logger.js';
import { createMemoryQueue } from '../../src/queue/memory.js';
import type { TaskName, TaskQueue } from '../../src/queue/port.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import type { BlobStore } from '../../src/storage/local.js';

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
  rt: Runtime;
  app: FastifyInstance;
  config: Config;
  repos: Repositories;
  storage: BlobStore;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** run the pipeline's workers in the process (default false: jobs stay queued) */
  workers?: boolean;
  /** the task queue (default: an in-process one); a test passes its own to watch or break it */
  queue?: TaskQueue;
  /** the logger (default: one from the configuration, silent unless LOG_LEVEL is set) */
  log?: Logger;
  /** run the periodic housekeeping sweep (default false: tests call runOnce themselves) */
  housekeeping?: boolean;
}

/**
 * The app users run (the composition root, src/runtime.ts), on a test database, listening on a
 * free port. `env` overrides configuration; argon2 runs with modest real parameters (4 MiB, 1
 * pass) to keep the suite fast, and the per-address registration and login limits are high. Without workers nothing consumes the queue: jobs stay `queued`.
 */
export async function startServer(
  tdb: TestDatabase,
  env: Record<string, string> = {},
  opts: TestServerOptions = {},
): Promise<TestServer> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: tdb.dataDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
    // every test user registers and logs in from 127.0.0.1: the per-address limits are tested
    // on their own (test/integration/api/limits.test.ts)
    REGISTER_RATE_LIMIT_PER_ADDRESS_PER_HOUR: '100000',
    LOGIN_RATE_LIMIT_PER_ADDRESS_PER_HOUR: '100000',
    ...(tdb.databaseUrl ? { DATABASE_URL: tdb.databaseUrl } : {}),
    ...env,
  });
  const rt = await createRuntime(config, {
    workers: opts.workers ?? false,
    database: tdb.handle,
    queue: opts.queue,
    log: opts.log,
    housekeeping: opts.housekeeping ?? false,
    eventsPollMs: 200,
  });
  await rt.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = rt.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    rt,
    app: rt.app,
    config,
    repos: rt.repos,
    storage: rt.storage,
    close: () => rt.close(),
  };
}

/** An in-process queue that records what is enqueued (and can be made to fail its ping). */
export function recordingQueue(): TaskQueue & {
  enqueued: { name: TaskName; payload: unknown }[];
  pingFails: boolean;
} {
  const inner = createMemoryQueue();
  const q = {
    ...inner,
    enqueued: [] as { name: TaskName; payload: unknown }[],
    pingFails: false,
    async enqueue(...args: Parameters<TaskQueue['enqueue']>) {
      q.enqueued.push({ name: args[0], payload: args[1] });
      return inner.enqueue(...args);
    },
    async ping() {
      if (q.pingFails) throw new Error('queue down');
      return inner.ping();
    },
  };
  return q;
}
