import type { Kysely } from 'kysely';
import type { Database, JobRow, JobStatus } from '../types.js';
import { JOB_STATUSES } from '../types.js';

export interface NewJobInput {
  id: string;
  userId: string;
  videoKey: string;
  originalName: string;
  sizeBytes: number;
  sha256: string;
  probe: unknown;
  options: unknown;
}

export interface JobCursor {
  createdAt: Date;
  id: string;
}

export interface JobsRepository {
  create(job: NewJobInput): Promise<JobRow>;
  /** The job if `userId` owns it. */
  getForOwner(id: string, userId: string): Promise<JobRow | undefined>;
  /** Any user's job (for workers and signed media links). */
  getById(id: string): Promise<JobRow | undefined>;
  /** Own jobs newest first, keyset-paged by (created_at, id) strictly after `after`. */
  listByOwner(userId: string, opts: { limit: number; after?: JobCursor }): Promise<JobRow[]>;
  /** Sets status canceled (with finished_at) unless the job already finished; returns the row after. */
  cancel(id: string, userId: string): Promise<JobRow | undefined>;
  /** Deletes the job and (by cascade) its chunks and frames. */
  delete(id: string, userId: string): Promise<boolean>;
  /** Number of jobs in each status (every status present, 0 when none). */
  countByStatus(): Promise<Record<JobStatus, number>>;
}

export function createJobsRepository(db: Kysely<Database>): JobsRepository {
  return {
    create: (j) => {
      // created_at set here (millisecond precision, like the JS Date in a cursor) so keyset paging
      // compares equal values exactly
      const now = new Date();
      return db
        .insertInto('jobs')
        .values({
          id: j.id,
          created_at: now,
          updated_at: now,
          user_id: j.userId,
          status: 'queued',
          video_key: j.videoKey,
          original_name: j.originalName,
          size_bytes: j.sizeBytes,
          sha256: j.sha256,
          probe: JSON.stringify(j.probe),
          options: JSON.stringify(j.options),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    getForOwner: (id, userId) =>
      db.selectFrom('jobs').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst(),
    getById: (id) => db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst(),
    listByOwner(userId, { limit, after }) {
      let q = db.selectFrom('jobs').selectAll().where('user_id', '=', userId);
      if (after) {
        q = q.where((eb) =>
          eb.or([
            eb('created_at', '<', after.createdAt),
            eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)]),
          ]),
        );
      }
      return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },
    async cancel(id, userId) {
      const now = new Date();
      await db
        .updateTable('jobs')
        .set({ status: 'canceled', updated_at: now, finished_at: now })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('status', 'in', ['queued', 'processing'])
        .execute();
      return db
        .selectFrom('jobs')
        .selectAll()
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst();
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
  };
}
