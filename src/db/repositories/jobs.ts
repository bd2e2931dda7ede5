import { type Kysely, sql } from 'kysely';
import type { JobOptions, Summary } from '../../api/schemas.js';
import type { VideoProbe } from '../../media/probe.js';
import { fromJson, toJson } from '../json.js';
import type { Database, JobRow, JobStatus } from '../types.js';
import { JOB_STATUSES } from '../types.js';

/**
 * The `jobs` table, and the only place that writes it: creation, every status change (each a
 * conditional UPDATE, so completion, failure and cancellation each happen at most once), and the
 * progress counters (recounted from `job_chunks`, never incremented, so a chunk counted twice
 * cannot push them past the total). Rows leave here camelCased, with their JSON parsed.
 */

export interface JobRecord {
  id: string;
  userId: string;
  status: JobStatus;
  videoKey: string;
  originalName: string;
  sizeBytes: number;
  sha256: string;
  probe: VideoProbe;
  options: JobOptions;
  chunksTotal: number;
  chunksDone: number;
  framesTotal: number;
  framesDone: number;
  /** planned frames that could not be decoded (recounted from the chunks) */
  framesSkipped: number;
  /** why frames were skipped: one sentence per chunk that skipped some (at most 20) */
  warnings: string[];
  error: string | null;
  summary: Summary | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** the client's own label for the job */
  tag: string | null;
}

export type NewJob = Pick<
  JobRecord,
  'id' | 'userId' | 'videoKey' | 'originalName' | 'sizeBytes' | 'sha256' | 'probe' | 'options'
> & { tag?: string | null };

export interface JobCursor {
  createdAt: Date;
  id: string;
}

export interface JobProgressCount {
  chunksDone: number;
  chunksTotal: number;
}

export interface JobActivity {
  id: string;
  userId: string;
  status: JobStatus;
  chunksTotal: number;
  /** milliseconds since the job or one of its chunks last changed */
  idleMs: number;
}

export interface JobsRepository {
  create(job: NewJob): Promise<JobRecord>;
  /**
   * Inserts a queued job only if the owner's stored videos plus this one stay within
   * `quotaBytes` (checked and inserted under a per-user lock, so two concurrent uploads cannot
   * both squeeze in): null when they would not.
   */
  createWithinQuota(job: NewJob, quotaBytes: number): Promise<JobRecord | null>;
  /** Bytes of video the user's jobs hold. */
  storedBytes(userId: string): Promise<number>;
  /** Several jobs by id in one query (missing ones are left out). */
  listByIds(ids: readonly string[]): Promise<JobRecord[]>;
  /** Finished jobs that finished before `before`, oldest first (the retention sweep). */
  listFinishedBefore(
    before: Date,
    limit: number,
  ): Promise<{ id: string; userId: string; videoKey: string }[]>;
  /** The job if `userId` owns it. */
  getForOwner(id: string, userId: string): Promise<JobRecord | undefined>;
  /** Any user's job (for workers and signed media links). */
  getById(id: string): Promise<JobRecord | undefined>;
  status(id: string): Promise<JobStatus | null>;
  /** Own jobs newest first, keyset-paged by (created_at, id) strictly after `after`. */
  /** `nameContains`: only jobs whose original file name contains it (case-insensitive, literal). */
  listByOwner(
    userId: string,
    opts: { limit: number; after?: JobCursor; nameContains?: string },
  ): Promise<JobRecord[]>;
  /** Jobs a restarted standalone process must take up again, oldest first. */
  listUnfinished(): Promise<{ id: string; userId: string; status: JobStatus }[]>;
  /**
   * Unfinished jobs, oldest first, with how long nothing has happened to them (the job row or any
   * of its chunks: a chunk started, frames written), for the watchdog.
   */
  listUnfinishedActivity(): Promise<JobActivity[]>;
  /** Deletes the job and (by cascade) its chunks and frames. */
  delete(id: string, userId: string): Promise<boolean>;
  /** Number of jobs in each status (every status present, 0 when none). */
  countByStatus(): Promise<Record<JobStatus, number>>;

  /** queued|processing → processing with the plan's totals; false when the job is no longer unfinished. */
  /** `probe`, when given, replaces the stored one (the scan's duration and frame count). */
  startProcessing(
    id: string,
    totals: { chunksTotal: number; framesTotal: number; probe?: VideoProbe },
  ): Promise<boolean>;
  /** processing → completed with its summary; false when another caller finished it first. */
  complete(id: string, summary: Summary): Promise<boolean>;
  /** queued|processing → failed with a sentence for the user; false when already finished. */
  fail(id: string, error: string): Promise<boolean>;
  /**
   * The per-user active-job limit: queued → processing only while the owner has fewer than `limit`
   * jobs processing, counting the owner's older queued jobs as ahead of this one (they start
   * first). True when the job is (now or already) processing; false when it must wait, or is
   * finished or gone.
   */
  claimJobSlot(id: string, limit: number): Promise<boolean>;
  /** The owner cancels: queued|processing → canceled. Returns the row as it is afterwards. */
  cancel(id: string, userId: string): Promise<JobRecord | undefined>;
  /** Recounts chunks and frames done from `job_chunks`. */
  refreshProgress(id: string): Promise<JobProgressCount | null>;
}

export function toJobRecord(r: JobRow): JobRecord {
  return {
    id: r.id,
    userId: r.user_id,
    status: r.status,
    videoKey: r.video_key,
    originalName: r.original_name,
    sizeBytes: Number(r.size_bytes),
    sha256: r.sha256,
    probe: fromJson<VideoProbe>(r.probe),
    options: fromJson<JobOptions>(r.options),
    chunksTotal: r.chunks_total,
    chunksDone: r.chunks_done,
    framesTotal: r.frames_total,
    framesDone: r.frames_done,
    framesSkipped: r.frames_skipped ?? 0,
    warnings: r.warnings ? fromJson<string[]>(r.warnings) : [],
    error: r.error,
    summary: r.summary === null ? null : fromJson<Summary>(r.summary),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    startedAt: r.started_at === null ? null : new Date(r.started_at),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
    tag: r.tag ?? null,
  };
}

const UNFINISHED: JobStatus[] = ['queued', 'processing'];

async function storedBytesOf(db: Kysely<Database>, userId: string): Promise<number> {
  const r = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string | number | bigint>('size_bytes'), eb.lit(0)).as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

function newJobValues(j: NewJob) {
  // created_at set here (millisecond precision, like the JS Date in a cursor) so keyset paging
  // compares equal values exactly
  const now = new Date();
  return {
    id: j.id,
    created_at: now,
    updated_at: now,
    user_id: j.userId,
    status: 'queued' as const,
    video_key: j.videoKey,
    original_name: j.originalName,
    size_bytes: j.sizeBytes,
    sha256: j.sha256,
    probe: toJson(j.probe),
    options: toJson(j.options),
    tag: j.tag ?? null,
  };
}

export function createJobsRepository(db: Kysely<Database>): JobsRepository {
  const selectJob = () => db.selectFrom('jobs').selectAll();
  const updated = (r: { numUpdatedRows: bigint }) => Number(r.numUpdatedRows) === 1;

  return {
    create: async (j) =>
      toJobRecord(
        await db.insertInto('jobs').values(newJobValues(j)).returningAll().executeTakeFirstOrThrow(),
      ),

    createWithinQuota: (j, quota) =>
      db.transaction().execute(async (trx) => {
        // one writer per user at a time: the sum below cannot miss a concurrent upload's row
        await sql`select pg_advisory_xact_lock(hashtextextended(${j.userId}, 0))`.execute(trx);
        if ((await storedBytesOf(trx, j.userId)) + j.sizeBytes > quota) return null;
        const row = await trx
          .insertInto('jobs')
          .values(newJobValues(j))
          .returningAll()
          .executeTakeFirstOrThrow();
        return toJobRecord(row);
      }),

    storedBytes: (userId) => storedBytesOf(db, userId),

    async listByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await selectJob()
        .where('id', 'in', [...ids])
        .execute();
      return rows.map(toJobRecord);
    },

    listFinishedBefore: async (before, limit) =>
      (
        await db
          .selectFrom('jobs')
          .select(['id', 'user_id', 'video_key'])
          .where('finished_at', 'is not', null)
          .where('finished_at', '<', before)
          .orderBy('finished_at')
          .limit(limit)
          .execute()
      ).map((r) => ({ id: r.id, userId: r.user_id, videoKey: r.video_key })),

    async getForOwner(id, userId) {
      const r = await selectJob().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return r && toJobRecord(r);
    },

    async getById(id) {
      const r = await selectJob().where('id', '=', id).executeTakeFirst();
      return r && toJobRecord(r);
    },

    async status(id) {
      const r = await db.selectFrom('jobs').select('status').where('id', '=', id).executeTakeFirst();
      return r?.status ?? null;
    },

    async listByOwner(userId, { limit, after, nameContains }) {
      let q = selectJob().where('user_id', '=', userId);
      // strpos, not LIKE: the user's text is matched literally (no % or _ wildcards to escape)
      if (nameContains) q = q.where(sql<boolean>`strpos(lower(original_name), lower(${nameContains})) > 0`);
      if (after) {
        q = q.where((eb) =>
          eb.or([
            eb('created_at', '<', after.createdAt),
            eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)]),
          ]),
        );
      }
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toJobRecord);
    },

    listUnfinished: () =>
      db
        .selectFrom('jobs')
        .select(['id', 'user_id as userId', 'status'])
        .where('status', 'in', UNFINISHED)
        .orderBy('created_at')
        .execute(),

    async listUnfinishedActivity() {
      // the chunks' last change is read here, as refreshProgress recounts them: one query per sweep
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
        .where('status', 'in', UNFINISHED)
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

    async delete(id, userId) {
      const res = await db
        .deleteFrom('jobs')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },

    async countByStatus() {
      const rows = await db
        .selectFrom('jobs')
        .select(['status', (eb) => eb.fn.countAll<string | number | bigint>().as('n')])
        .groupBy('status')
        .execute();
      const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
      for (const r of rows) out[r.status] = Number(r.n);
      return out;
    },

    async startProcessing(id, totals) {
      const r = await db
        .updateTable('jobs')
        .set({
          status: 'processing',
          chunks_total: totals.chunksTotal,
          frames_total: totals.framesTotal,
          ...(totals.probe ? { probe: toJson(totals.probe) } : {}),
          started_at: sql<Date>`coalesce(started_at, now())`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .where('status', 'in', UNFINISHED)
        .executeTakeFirst();
      return updated(r);
    },

    async complete(id, summary) {
      const r = await db
        .updateTable('jobs')
        .set({
          status: 'completed',
          error: null,
          summary: toJson(summary),
          finished_at: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .where('status', '=', 'processing')
        .executeTakeFirst();
      return updated(r);
    },

    async fail(id, error) {
      const r = await db
        .updateTable('jobs')
        .set({ status: 'failed', error, finished_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .where('status', 'in', UNFINISHED)
        .executeTakeFirst();
      return updated(r);
    },

    claimJobSlot(id, limit) {
      // inside the transaction only `trx` (the PGlite dialect runs one transaction at a time)
      return db.transaction().execute(async (trx) => {
        const job = await trx
          .selectFrom('jobs')
          .select(['user_id', 'status', 'created_at'])
          .where('id', '=', id)
          .executeTakeFirst();
        if (job?.status !== 'queued') return job?.status === 'processing';
        // claims for one owner, from any process, take turns: a lock on the owner's id (held to
        // commit), so the count below already sees the claim that went before
        await sql`select pg_advisory_xact_lock(hashtext('web-detector:job-slots'), hashtext(${job.user_id}))`.execute(
          trx,
        );
        const r = await trx
          .selectFrom('jobs')
          .select([
            sql<number>`count(*) filter (where status = 'processing')::int`.as('active'),
            sql<number>`count(*) filter (where status = 'queued' and (created_at, id) < (${job.created_at}, ${id}))::int`.as(
              'ahead',
            ),
          ])
          .where('user_id', '=', job.user_id)
          .where('status', 'in', UNFINISHED)
          .executeTakeFirstOrThrow();
        if (r.active + r.ahead >= limit) return false;
        const u = await trx
          .updateTable('jobs')
          .set({
            status: 'processing',
            started_at: sql<Date>`coalesce(started_at, now())`,
            updated_at: sql<Date>`now()`,
          })
          .where('id', '=', id)
          .where('status', '=', 'queued')
          .executeTakeFirst();
        return updated(u);
      });
    },

    async cancel(id, userId) {
      const now = new Date();
      await db
        .updateTable('jobs')
        .set({ status: 'canceled', updated_at: now, finished_at: now })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('status', 'in', UNFINISHED)
        .execute();
      const r = await selectJob().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return r && toJobRecord(r);
    },

    async refreshProgress(id) {
      const r = await db
        .updateTable('jobs')
        .set({
          chunks_done: sql<number>`(select count(*)::int from job_chunks where job_id = ${id} and status = 'done')`,
          frames_done: sql<number>`(select coalesce(sum(frames_done), 0)::int from job_chunks where job_id = ${id})`,
          frames_skipped: sql<number>`(select coalesce(sum(frames_skipped), 0)::int from job_chunks where job_id = ${id})`,
          warnings: sql<
            string | null
          >`(select json_agg(w order by i)::text from (select chunk_index as i, skip_reason as w from job_chunks where job_id = ${id} and skip_reason is not null order by chunk_index limit 20) s)`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .returning(['chunks_done', 'chunks_total'])
        .executeTakeFirst();
      return r ? { chunksDone: r.chunks_done, chunksTotal: r.chunks_total } : null;
    },
  };
}
