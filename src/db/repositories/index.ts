import type { Kysely } from 'kysely';
import type { Database } from '../types.js';
import { type ChunksRepository, createChunksRepository } from './chunks.js';
import { createFramesRepository, type FramesRepository } from './frames.js';
import { createJobsRepository, type JobsRepository } from './jobs.js';
import { createRefreshTokensRepository, type RefreshTokensRepository } from './refresh-tokens.js';
import { createUsersRepository, type UsersRepository } from './users.js';

export * from './chunks.js';
export * from './frames.js';
export * from './jobs.js';
export * from './refresh-tokens.js';
export * from './users.js';

/** One repository per table (refresh tokens, users, jobs, job_chunks, frames): only they speak SQL. */
export interface Repositories {
  users: UsersRepository;
  refreshTokens: RefreshTokensRepository;
  jobs: JobsRepository;
  chunks: ChunksRepository;
  frames: FramesRepository;
}

export function createRepositories(db: Kysely<Database>): Repositories {
  return {
    users: createUsersRepository(db),
    refreshTokens: createRefreshTokensRepository(db),
    jobs: createJobsRepository(db),
    chunks: createChunksRepository(db),
    frames: createFramesRepository(db),
  };
}
