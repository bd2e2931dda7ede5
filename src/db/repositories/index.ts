import type { Kysely } from 'kysely';
import type { Database } from '../types.js';
import { createJobsRepository, type JobsRepository } from './jobs.js';
import { createRefreshTokensRepository, type RefreshTokensRepository } from './refresh-tokens.js';
import { createUsersRepository, type UsersRepository } from './users.js';

export * from './jobs.js';
export * from './refresh-tokens.js';
export * from './users.js';

export interface Repositories {
  users: UsersRepository;
  refreshTokens: RefreshTokensRepository;
  jobs: JobsRepository;
}

export function createRepositories(db: Kysely<Database>): Repositories {
  return {
    users: createUsersRepository(db),
    refreshTokens: createRefreshTokensRepository(db),
    jobs: createJobsRepository(db),
  };
}
