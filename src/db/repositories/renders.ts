import { type Kysely, sql } from 'kysely';
import { fromJson, toJson } from '../json.js';
import type { Database, RenderStatus } from '../types.js';

/**
 * The `renders` table: one row per annotated video of a job. Every status change is a conditional
 * UPDATE (a render starts, completes or fails at most once; a duplicate task changes nothing), and
 * rows go with their job (ON DELETE CASCADE).
 */

/** What a render draws (null: everything the job found). */
export interface RenderOptions {
  labels: string[] | null;
  minScore: number | null;
  tracks: number[] | null;
}

export interface RenderRecord {
  id: string;
  jobId: string;
  status: RenderStatus;
  /** percent of the video's frames written (100 once completed) */
  progress: number;
  options: RenderOptions;
  storageKey: string | null;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface RendersRepository {
  create(r: { id: string; jobId: string; options: RenderOptions }): Promise<RenderRecord>;
  get(id: string): Promise<RenderRecord | null>;
  /** The render if it belongs to this job. */
  getForJob(jobId: string, id: string): Promise<RenderRecord | null>;
  /** queued or running: true when this call moved it to running (or it was running: a retry). */
  start(id: string): Promise<boolean>;
  setProgress(id: string, percent: number): Promise<void>;
  /** running → completed with its stored file; false when it was not running (failed, deleted). */
  complete(id: string, storageKey: string): Promise<boolean>;
  /** queued or running → failed with a sentence; false when it had finished already. */
  fail(id: string, error: string): Promise<boolean>;
  /** queued and running renders with their job's owner, oldest first (a standalone restart queues them again). */
  listUnfinished(limit: number): Promise<{ id: string; jobId: string; userId: string }[]>;
}

type Row = {
  id: string;
  job_id: string;
  status: RenderStatus;
  progress: number;
  options: unknown;
  storage_key: string | null;
  error: string | null;
  created_at: Date;
  finished_at: Date | null;
};

function toRecord(r: Row): RenderRecord {
  return {
    id: r.id,
    jobId: r.job_id,
    status: r.status,
    progress: Number(r.progress),
    options: fromJson<RenderOptions>(r.options),
    storageKey: r.storage_key,
    error: r.error,
    createdAt: new Date(r.created_at),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
  };
}

const UNFINISHED: RenderStatus[] = ['queued', 'running'];

export function createRendersRepository(db: Kysely<Database>): RendersRepository {
  const updated = (r: { numUpdatedRows: bigint }) => Number(r.numUpdatedRows) === 1;
  const columns = [
    'id',
    'job_id',
    'status',
    'progress',
    'options',
    'storage_key',
    'error',
    'created_at',
    'finished_at',
  ] as const;
  return {
    async create(r) {
      const row = await db
        .insertInto('renders')
        .values({ id: r.id, job_id: r.jobId, status: 'queued', options: toJson(r.options) })
        .returning(columns)
        .executeTakeFirstOrThrow();
      return toRecord(row);
    },
    async get(id) {
      const row = await db.selectFrom('renders').select(columns).where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async getForJob(jobId, id) {
      const row = await db
        .selectFrom('renders')
        .select(columns)
        .where('id', '=', id)
        .where('job_id', '=', jobId)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async start(id) {
      const r = await db
        .updateTable('renders')
        .set({ status: 'running', updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .where('status', 'in', UNFINISHED)
        .executeTakeFirst();
      return updated(r);
    },
    async setProgress(id, percent) {
      await db
        .updateTable('renders')
        .set({ progress: Math.max(0, Math.min(100, percent)), updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .execute();
    },
    async complete(id, storageKey) {
      const r = await db
        .updateTable('renders')
        .set({
          status: 'completed',
          progress: 100,
          storage_key: storageKey,
          error: null,
          finished_at: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return updated(r);
    },
    async fail(id, error) {
      const r = await db
        .updateTable('renders')
        .set({ status: 'failed', error, finished_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .where('status', 'in', UNFINISHED)
        .executeTakeFirst();
      return updated(r);
    },
    async listUnfinished(limit) {
      const rows = await db
        .selectFrom('renders')
        .innerJoin('jobs', 'jobs.id', 'renders.job_id')
        .select(['renders.id as id', 'renders.job_id as job_id', 'jobs.user_id as user_id'])
        .where('renders.status', 'in', UNFINISHED)
        .orderBy('renders.created_at')
        .orderBy('renders.id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: r.id, jobId: r.job_id, userId: r.user_id }));
    },
  };
}
