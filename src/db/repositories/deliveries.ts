import type { Kysely } from 'kysely';
import type { Database } from '../types.js';

/** The `deliveries` table: one row per attempt to deliver a job's callback (the notify task writes them). */

export interface DeliveryRecord {
  id: string;
  jobId: string;
  attemptedAt: Date;
  /** the notify task's attempt number (1-based; a redelivery starts again at 1) */
  attempt: number;
  /** the receiver's HTTP status, or null when there was no answer */
  statusCode: number | null;
  /** why the attempt failed (a sentence), or null when it succeeded */
  error: string | null;
  durationMs: number;
  succeeded: boolean;
}

export interface DeliveriesRepository {
  record(d: DeliveryRecord): Promise<void>;
  /** The job's attempts, newest first. */
  listByJob(jobId: string, limit: number): Promise<DeliveryRecord[]>;
}

export function createDeliveriesRepository(db: Kysely<Database>): DeliveriesRepository {
  return {
    async record(d) {
      await db
        .insertInto('deliveries')
        .values({
          id: d.id,
          job_id: d.jobId,
          attempted_at: d.attemptedAt,
          attempt: d.attempt,
          status_code: d.statusCode,
          error: d.error,
          duration_ms: Math.round(d.durationMs),
          succeeded: d.succeeded,
        })
        .execute();
    },
    async listByJob(jobId, limit) {
      const rows = await db
        .selectFrom('deliveries')
        .selectAll()
        .where('job_id', '=', jobId)
        .orderBy('attempted_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        jobId: r.job_id,
        attemptedAt: new Date(r.attempted_at),
        attempt: r.attempt,
        statusCode: r.status_code,
        error: r.error,
        durationMs: r.duration_ms,
        succeeded: r.succeeded,
      }));
    },
  };
}
