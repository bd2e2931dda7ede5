import type { JobsRepository } from '../db/repositories/jobs.js';
import { DeferTask, type TaskHandler } from '../queue/port.js';

/**
 * USER_MAX_ACTIVE_JOBS: a job starts (queued → processing) only while its owner has fewer than
 * `limit` jobs processing. The `process` task of a job over the limit is deferred (run again after
 * pollMs without spending an attempt) and the job stays `queued`: it is accepted, not refused, and
 * starts when one of the owner's jobs ends. Other users' tasks run meanwhile (the queue serves
 * users in turn). Limit 0: no limit, the task is returned as it is.
 */
export function withJobSlot(
  processTask: TaskHandler<'process'>,
  deps: { jobs: Pick<JobsRepository, 'claimJobSlot' | 'status'>; limit: number; pollMs?: number },
): TaskHandler<'process'> {
  if (deps.limit <= 0) return processTask;
  return async (payload, ctx) => {
    if (!(await deps.jobs.claimJobSlot(payload.jobId, deps.limit))) {
      if ((await deps.jobs.status(payload.jobId)) === 'queued') throw new DeferTask(deps.pollMs ?? 2000);
      return; // canceled, failed or deleted while waiting
    }
    await processTask(payload, ctx);
  };
}
