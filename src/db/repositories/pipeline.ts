import { type Kysely, sql } from 'kysely';
import type { Database, JobStatus } from '../types.js';

/**
 * The SQL of the video pipeline: chunk rows, frame rows and the job's progress counters.
 *
 * Idempotence is what makes retries safe: chunk rows are inserted with ON CONFLICT DO NOTHING (a
 * re-run `process` task plans the same chunks), frames are upserted by (job_id, frame_index) so a
 * retried chunk overwrites instead of duplicating, and progress counters are recomputed from the
 * chunk rows instead of incremented, so a chunk counted twice cannot push them past the total.
 */

export interface ChunkPlanRow {
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
}

export interface ChunkRow extends ChunkPlanRow {
  jobId: string;
  status: 'pending' | 'running' | 'done' | 'failed';
  attempts: number;
  framesDone: number;
  error: string | null;
}

export interface FrameRecord {
  frameIndex: number;
  timestamp: number;
  detections: unknown[];
}

export interface FrameQuery {
  afterFrame?: number;
  limit: number;
  from?: number;
  to?: number;
  /** only frames having at least one detection with this label */
  label?: string;
}

export function createPipelineRepository(db: Kysely<Database>) {
  return {
    async insertChunks(jobId: string, chunks: ChunkPlanRow[]): Promise<void> {
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
              sample: JSON.stringify(c.sample),
            })),
          )
          .onConflict((oc) => oc.columns(['job_id', 'chunk_index']).doNothing())
          .execute();
      }
    },

    async getChunk(jobId: string, chunkIndex: number): Promise<ChunkRow | null> {
      const r = await db
        .selectFrom('job_chunks')
        .selectAll()
        .where('job_id', '=', jobId)
        .where('chunk_index', '=', chunkIndex)
        .executeTakeFirst();
      return r ? toChunk(r) : null;
    },

    async listChunks(jobId: string): Promise<ChunkRow[]> {
      const rows = await db
        .selectFrom('job_chunks')
        .selectAll()
        .where('job_id', '=', jobId)
        .orderBy('chunk_index')
        .execute();
      return rows.map(toChunk);
    },

    async markChunk(
      jobId: string,
      chunkIndex: number,
      patch: { status: ChunkRow['status']; error?: string | null; incrementAttempts?: boolean },
    ): Promise<void> {
      await db
        .updateTable('job_chunks')
        .set((eb) => ({
          status: patch.status,
          error: patch.error ?? null,
          updated_at: sql<Date>`now()`,
          ...(patch.incrementAttempts ? { attempts: eb('attempts', '+', 1) } : {}),
        }))
        .where('job_id', '=', jobId)
        .where('chunk_index', '=', chunkIndex)
        .execute();
    },

    /** Writes a batch of frames (upsert) and the chunk's frames_done, then the job's frames_done. */
    async saveFrames(
      jobId: string,
      chunkIndex: number,
      frames: FrameRecord[],
      chunkFramesDone: number,
    ): Promise<void> {
      if (frames.length > 0) {
        await db
          .insertInto('frames')
          .values(
            frames.map((f) => ({
              job_id: jobId,
              frame_index: f.frameIndex,
              timestamp: f.timestamp,
              detections: JSON.stringify(f.detections),
            })),
          )
          .onConflict((oc) =>
            oc.columns(['job_id', 'frame_index']).doUpdateSet((eb) => ({
              timestamp: eb.ref('excluded.timestamp'),
              detections: eb.ref('excluded.detections'),
            })),
          )
          .execute();
      }
      await db
        .updateTable('job_chunks')
        .set({ frames_done: chunkFramesDone, updated_at: sql<Date>`now()` })
        .where('job_id', '=', jobId)
        .where('chunk_index', '=', chunkIndex)
        .execute();
      await db
        .updateTable('jobs')
        .set({
          frames_done: sql<number>`(select coalesce(sum(frames_done), 0) from job_chunks where job_id = ${jobId})`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', jobId)
        .execute();
    },

    /** Recounts the job's finished chunks; returns the counters so the caller can tell if all are done. */
    async refreshChunkProgress(jobId: string): Promise<{ chunksDone: number; chunksTotal: number } | null> {
      const r = await db
        .updateTable('jobs')
        .set({
          chunks_done: sql<number>`(select count(*)::int from job_chunks where job_id = ${jobId} and status = 'done')`,
          frames_done: sql<number>`(select coalesce(sum(frames_done), 0)::int from job_chunks where job_id = ${jobId})`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', jobId)
        .returning(['chunks_done', 'chunks_total'])
        .executeTakeFirst();
      return r ? { chunksDone: r.chunks_done, chunksTotal: r.chunks_total } : null;
    },

    /** queued → processing with the plan's totals; false when the job is no longer queued/processing. */
    async startProcessing(
      jobId: string,
      totals: { chunksTotal: number; framesTotal: number },
    ): Promise<boolean> {
      const r = await db
        .updateTable('jobs')
        .set({
          status: 'processing',
          chunks_total: totals.chunksTotal,
          frames_total: totals.framesTotal,
          started_at: sql<Date>`coalesce(started_at, now())`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', jobId)
        .where('status', 'in', ['queued', 'processing'])
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /**
     * Moves a job from an unfinished status to a final one. Only one caller can win: the
     * WHERE on the current status makes completion and failure happen exactly once.
     */
    async finish(
      jobId: string,
      to: Extract<JobStatus, 'completed' | 'failed' | 'canceled'>,
      fields: { error?: string | null; summary?: unknown },
    ): Promise<boolean> {
      const from: JobStatus[] = to === 'completed' ? ['processing'] : ['queued', 'processing'];
      const r = await db
        .updateTable('jobs')
        .set({
          status: to,
          error: fields.error ?? null,
          ...(fields.summary !== undefined ? { summary: JSON.stringify(fields.summary) } : {}),
          finished_at: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', jobId)
        .where('status', 'in', from)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /** What the tasks read of a job: owner, status, stored video, probe and options. */
    async getJob(jobId: string) {
      const r = await db
        .selectFrom('jobs')
        .select([
          'id',
          'user_id',
          'status',
          'video_key',
          'probe',
          'options',
          'frames_done',
          'error',
          'finished_at',
        ])
        .where('id', '=', jobId)
        .executeTakeFirst();
      if (!r) return null;
      const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
      return {
        id: r.id,
        userId: r.user_id,
        status: r.status,
        videoKey: r.video_key,
        probe: parse(r.probe),
        options: parse(r.options),
        framesDone: r.frames_done,
        error: r.error,
        finishedAt: r.finished_at,
      };
    },

    async jobStatus(jobId: string): Promise<JobStatus | null> {
      const r = await db.selectFrom('jobs').select('status').where('id', '=', jobId).executeTakeFirst();
      return r?.status ?? null;
    },

    /** Jobs a restarted standalone process must take up again. */
    async unfinishedJobs(): Promise<{ id: string; userId: string; status: JobStatus }[]> {
      return db
        .selectFrom('jobs')
        .select(['id', 'user_id as userId', 'status'])
        .where('status', 'in', ['queued', 'processing'])
        .orderBy('created_at')
        .execute();
    },

    /**
     * Unfinished jobs with the time anything last happened to them (the job row or any of its
     * chunks: a chunk started, frames written), for the watchdog.
     */
    async unfinishedJobsActivity(): Promise<
      { id: string; userId: string; status: JobStatus; chunksTotal: number; idleMs: number }[]
    > {
      const rows = await db
        .selectFrom('jobs')
        .select([
          'id',
          'user_id',
          'status',
          'chunks_total',
          sql<number>`(extract(epoch from now() - greatest(jobs.updated_at,
            (select max(c.updated_at) from job_chunks c where c.job_id = jobs.id))) * 1000)::float8`.as(
            'idle_ms',
          ),
        ])
        .where('status', 'in', ['queued', 'processing'])
        .orderBy('created_at')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        userId: r.user_id,
        status: r.status,
        chunksTotal: r.chunks_total,
        idleMs: Number(r.idle_ms),
      }));
    },

    /**
     * The per-user active-job limit: moves a queued job to processing only while its owner has
     * fewer than `limit` jobs processing, counting the owner's older queued jobs as ahead of it
     * (they start first). The owner's row is locked for the check, so claims from several
     * processes for one user happen one at a time. True when the job is (now or already)
     * processing; false when it must wait, or is finished or gone.
     */
    async claimJobSlot(jobId: string, limit: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const job = await trx
          .selectFrom('jobs')
          .select(['user_id', 'status', 'created_at'])
          .where('id', '=', jobId)
          .executeTakeFirst();
        if (job?.status !== 'queued') return job?.status === 'processing';
        await trx.selectFrom('users').select('id').where('id', '=', job.user_id).forUpdate().execute();
        const r = await trx
          .selectFrom('jobs')
          .select([
            sql<number>`count(*) filter (where status = 'processing')::int`.as('active'),
            sql<number>`count(*) filter (where status = 'queued' and (created_at, id) < (${job.created_at}, ${jobId}))::int`.as(
              'ahead',
            ),
          ])
          .where('user_id', '=', job.user_id)
          .where('status', 'in', ['queued', 'processing'])
          .executeTakeFirstOrThrow();
        if (r.active + r.ahead >= limit) return false;
        const u = await trx
          .updateTable('jobs')
          .set({
            status: 'processing',
            started_at: sql<Date>`coalesce(started_at, now())`,
            updated_at: sql<Date>`now()`,
          })
          .where('id', '=', jobId)
          .where('status', '=', 'queued')
          .executeTakeFirst();
        return Number(u.numUpdatedRows) === 1;
      });
    },

    async listFrames(jobId: string, q: FrameQuery): Promise<FrameRecord[]> {
      let query = db
        .selectFrom('frames')
        .select(['frame_index', 'timestamp', 'detections'])
        .where('job_id', '=', jobId)
        .orderBy('frame_index')
        .limit(q.limit);
      if (q.afterFrame !== undefined) query = query.where('frame_index', '>', q.afterFrame);
      if (q.from !== undefined) query = query.where('timestamp', '>=', q.from);
      if (q.to !== undefined) query = query.where('timestamp', '<=', q.to);
      if (q.label !== undefined) {
        query = query.where(sql<boolean>`detections @> ${JSON.stringify([{ label: q.label }])}::jsonb`);
      }
      const rows = await query.execute();
      return rows.map((r) => ({
        frameIndex: r.frame_index,
        timestamp: r.timestamp,
        detections: (typeof r.detections === 'string' ? JSON.parse(r.detections) : r.detections) as unknown[],
      }));
    },
  };
}

export type PipelineRepository = ReturnType<typeof createPipelineRepository>;

type RawChunk = {
  job_id: string;
  chunk_index: number;
  start_sec: number;
  end_sec: number;
  start_frame: number;
  frame_count: number;
  status: string;
  attempts: number;
  frames_done: number;
  error: string | null;
  sample: unknown;
};

function toChunk(r: RawChunk): ChunkRow {
  const sample = (typeof r.sample === 'string' ? JSON.parse(r.sample) : r.sample) as ChunkRow['sample'];
  return {
    jobId: r.job_id,
    chunkIndex: r.chunk_index,
    startSec: r.start_sec,
    endSec: r.end_sec,
    startFrame: r.start_frame,
    frameCount: r.frame_count,
    sample,
    status: r.status as ChunkRow['status'],
    attempts: r.attempts,
    framesDone: r.frames_done,
    error: r.error,
  };
}
