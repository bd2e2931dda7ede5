import type { Kysely } from 'kysely';
import type { Database } from '../types.js';
import { type ApiKeysRepository, createApiKeysRepository } from './api-keys.js';
import { type ChunksRepository, createChunksRepository } from './chunks.js';
import { createDeliveriesRepository, type DeliveriesRepository } from './deliveries.js';
import { createFramesRepository, type FramesRepository } from './frames.js';
import { createIdempotencyKeysRepository, type IdempotencyKeysRepository } from './idempotency-keys.js';
import { createJobsRepository, type JobsRepository } from './jobs.js';
import { createRefreshTokensRepository, type RefreshTokensRepository } from './refresh-tokens.js';
import { createRendersRepository, type RendersRepository } from './renders.js';
import { createUsersRepository, type UsersRepository } from './users.js';

export * from './api-keys.js';
export * from './chunks.js';
export * from './deliveries.js';
export * from './frames.js';
export * from './idempotency-keys.js';
export * from './jobs.js';
export * from './refresh-tokens.js';
export * from './renders.js';
export * from './users.js';

/**
 * One repository per table (users, refresh tokens, API keys, jobs, idempotency keys, job_chunks,
 * frames, deliveries, renders): only they speak SQL.
 */
export interface Repositories {
  users: UsersRepository;
  refreshTokens: RefreshTokensRepository;
  jobs: JobsRepository;
  chunks: ChunksRepository;
  frames: FramesRepository;
  apiKeys: ApiKeysRepository;
  idempotencyKeys: IdempotencyKeysRepository;
  deliveries: DeliveriesRepository;
  renders: RendersRepository;
}

export function createRepositories(db: Kysely<Database>): Repositories {
  return {
    users: createUsersRepository(db),
    refreshTokens: createRefreshTokensRepository(db),
    jobs: createJobsRepository(db),
    chunks: createChunksRepository(db),
    frames: createFramesRepository(db),
    apiKeys: createApiKeysRepository(db),
    idempotencyKeys: createIdempotencyKeysRepository(db),
    deliveries: createDeliveriesRepository(db),
    renders: createRendersRepository(db),
  };
}
