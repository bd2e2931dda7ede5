import { type Kysely, type Selectable, sql } from 'kysely';
import { fromJson, toJson } from '../json.js';
import type { Database, JobChunksTable } from '../types.js';

/**
 * The `job_chunks` table: a job's plan (one row per chunk, written once by the `process` task) and
 * each chunk's state. Inserts are ON CONFLICT DO NOTHING, so a re-run `process` task plans the same
 * chunks without duplicating them.
 */

export interface ChunkPlan {
  chunkIndex: number;
  startSec: number;
  endSec: number;
  startFrame: number;
  /** frames ffmpeg decodes for this chunk */
  frameCount: number;
  /** what the detect task needs to decode this chunk exactly, computed once from the packet scan */
  sample: ChunkSample;
}

export interface ChunkSample {
  /** absolute indices of the frames of this chunk that are analysed, and their timestamps */
  indices: number[];
  timestamps: number[];
  /** absolute pts of the video's frame 0 (timestamps are relative to it) */
  firstPtsSec: number;
  /** time of the first keyframe after this chunk's start, if any: lets the seek skip a GOP */
  nextKeyframeSec: number | null;
  /** the analysed frames' pts in the stream's time base (exact; the decoder matches frames by them) */
  ticks?: number[];
  /** where the decode seeks: the chunk keyframe's min(pts, dts) in time-base units (null: chunk 0) */
  seekTicks?: number | null;
}

export type ChunkStatus = 'pending' | 'running' | 'done' | 'failed';

export interface ChunkRecord extends ChunkPlan {
  jobId: string;
  status: ChunkStatus;
  attempts: number;
  framesDone: number;
  /** planned frames that did not decode, and why (null: none) */
  framesSkipped: number;
  skipReason: string | null;
  error: string | null;
}

export interface ChunksRepository {
  insertPlan(jobId: string, chunks: ChunkPlan[]): Promise<void>;
  get(jobId: string, chunkIndex: number): Promise<ChunkRecord | null>;
  list(jobId: string): Promise<ChunkRecord[]>;
  /** Sets the chunk's status (and error); `startAttempt` also counts an attempt. */
  mark(
    jobId: string,
    chunkIndex: number,
    patch: { status: ChunkStatus; error?: string | null; startAttempt?: boolean },
  ): Promise<void>;
  /** How many of the chunk's frames are written so far (the job's progress is recounted from these). */
  setFramesDone(jobId: string, chunkIndex: number, framesDone: number): Promise<void>;
  /** The chunk's planned frames that could not be decoded, and the sentence why (set once the chunk ends). */
  setSkipped(jobId: string, chunkIndex: number, framesSkipped: number, reason: string | null): Promise<void>;
}

function toChunkRecord(r: Selectable<JobChunksTable>): ChunkRecord {
  return {
    jobId: r.job_id,
    chunkIndex: r.chunk_index,
    startSec: r.start_sec,
    endSec: r.end_sec,
    startFrame: r.start_frame,
    frameCount: r.frame_count,
    sample: fromJson<ChunkSample>(r.sample),
    status: r.status as ChunkStatus,
    attempts: r.attempts,
    framesDone: r.frames_done,
    framesSkipped: r.frames_skipped ?? 0,
    skipReason: r.skip_reason ?? null,
    error: r.error,
  };
}

export function createChunksRepository(db: Kysely<Database>): ChunksRepository {
  return {
    async insertPlan(jobId, chunks) {
      // a long video has hundreds of chunks: insert in slices to keep statements small
      for (let i = 0; i < chunks.length; i += 200) {
        await db
          .insertInto('job_chunks')
          .values(
            chunks.slice(i, i + 200).map((c) => ({
              job_id: jobId,
              chunk_index: c.chunkIndex,
              start_sec: c.startSec,
              end_sec: c.endSec,
              start_frame: c.startFrame,
              frame_count: c.frameCount,
              sample: toJson(c.sample),
            })),
          )
          .onConflict((oc) => oc.columns(['job_id', 'chunk_index']).doNothing())
          .execute();
      }
    },

    async get(jobId, chunkIndex) {
      const r = await db
        .selectFrom('job_chunks')
        .selectAll()
        .where('job_id', '=', jobId)
        .where('chunk_index', '=', chunkIndex)
        .executeTakeFirst();
      return r ? toChunkRecord(r) : null;
    },

    async list(jobId) {
      const rows = await db
        .selectFrom('job_chunks')
        .selectAll()
        .where('job_id', '=', jobId)
        .orderBy('chunk_index')
        .execute();
      return rows.map(toChunkRecord);
    },

    async mark(jobId, chunkIndex, patch) {
      await db
        .updateTable('job_chunks')
        .set((eb) => ({
          status: patch.status,
          error: patch.error ?? null,
          updated_at: sql<Date>`now()`,
          ...(patch.startAttempt ? { attempts: eb('attempts', '+', 1) } : {}),
        }))
        .where('job_id', '=', jobId)
        .where('chunk_index', '=', chunkIndex)
        .execute();
    },

    async setSkipped(jobId, chunkIndex, framesSkipped, reason) {
      await db
        .updateTable('job_chunks')
        .set({ frames_skipped: framesSkipped, skip_reason: reason, updated_at: sql<Date>`now()` })
        .where('job_id', '=', jobId)
        .where('chunk_index', '=', chunkIndex)
        .execute();
    },

    async setFramesDone(jobId, chunkIndex, framesDone) {
      await db
        .updateTable('job_chunks')
        .set({ frames_done: framesDone, updated_at: sql<Date>`now()` })
        .where('job_id', '=', jobId)
        .where('chunk_index', '=', chunkIndex)
        .execute();
    },
  };
}
