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
import { createTrackerStatesRepository, type TrackerStatesRepository } from './tracker-states.js';
import { createTracksRepository, type TracksRepository } from './tracks.js';
import { createUsersRepository, type UsersRepository } from './users.js';

export * from './api-keys.js';
export * from './chunks.js';
export * from './deliveries.js';
export * from './frames.js';
export * from './idempotency-keys.js';
export * from './jobs.js';
export * from './refresh-tokens.js';
export * from './renders.js';
export * from './tracker-states.js';
export * from './tracks.js';
export * from './users.js';

/**
 * One repository per table (users, refresh tokens, API keys, jobs, idempotency keys, job_chunks,
 * frames, deliveries, tracks, tracker_states, renders): only they speak SQL.
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
  tracks: TracksRepository;
  trackerStates: TrackerStatesRepository;
  /**
   * Runs `fn` in one transaction with repositories bound to it (all of its writes land, or none).
   * Inside, use only the repositories given (on PGlite a query on the outer handle would wait
   * for the transaction: a deadlock).
   */
  transaction<T>(fn: (repos: TransactionRepositories) => Promise<T>): Promise<T>;
  renders: RendersRepository;
}

/** The repositories a transaction may use (the track step's writes). */
export type TransactionRepositories = Pick<Repositories, 'frames' | 'tracks' | 'trackerStates'>;

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
    tracks: createTracksRepository(db),
    trackerStates: createTrackerStatesRepository(db),
    transaction: (fn) =>
      db.transaction().execute((trx) =>
        fn({
          frames: createFramesRepository(trx),
          tracks: createTracksRepository(trx),
          trackerStates: createTrackerStatesRepository(trx),
        }),
      ),
    renders: createRendersRepository(db),
  };
}
