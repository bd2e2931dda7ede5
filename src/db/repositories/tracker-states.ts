import { type Kysely, sql } from 'kysely';
import { fromJson, toJson } from '../json.js';
import type { Database } from '../types.js';

/**
 * The `tracker_states` table: per job, the tracker's JSON state after the chunks tracked so far and
 * the next chunk to track. `advance` is a compare-and-set on `next_chunk`: of two track steps that
 * read the same row (a duplicate or retried task), only the first one's write lands.
 */

export interface TrackerStateRow<S = unknown> {
  nextChunk: number;
  state: S;
}

export interface TrackerStatesRepository {
  /** Writes the starting row unless the job has one (ON CONFLICT DO NOTHING). */
  init(jobId: string, state: unknown): Promise<void>;
  load<S = unknown>(jobId: string): Promise<TrackerStateRow<S> | null>;
  /** Moves the job from `fromChunk` to `fromChunk + 1` with `state`; false if it was not at `fromChunk`. */
  advance(jobId: string, fromChunk: number, state: unknown): Promise<boolean>;
}

export function createTrackerStatesRepository(db: Kysely<Database>): TrackerStatesRepository {
  return {
    async init(jobId, state) {
      await db
        .insertInto('tracker_states')
        .values({ job_id: jobId, next_chunk: 0, state: toJson(state) })
        .onConflict((oc) => oc.column('job_id').doNothing())
        .execute();
    },

    async load<S>(jobId: string) {
      const r = await db
        .selectFrom('tracker_states')
        .select(['next_chunk', 'state'])
        .where('job_id', '=', jobId)
        .executeTakeFirst();
      return r ? { nextChunk: r.next_chunk, state: fromJson<S>(r.state) } : null;
    },

    async advance(jobId, fromChunk, state) {
      const r = await db
        .updateTable('tracker_states')
        .set({ next_chunk: fromChunk + 1, state: toJson(state), updated_at: sql<Date>`now()` })
        .where('job_id', '=', jobId)
        .where('next_chunk', '=', fromChunk)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
}
