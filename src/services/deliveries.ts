import type { Delivery } from '../api/schemas.js';
import type { DeliveriesRepository, DeliveryRecord } from '../db/repositories/deliveries.js';
import type { JobRecord } from '../db/repositories/jobs.js';
import { ConflictError, NotFoundError } from '../errors.js';

/** A job's callback deliveries: the log of attempts, and asking for one more. */
export interface DeliveriesService {
  /** The job's delivery attempts, newest first (404 for another user's job). */
  list(userId: string, jobId: string): Promise<Delivery[]>;
  /** Queues one more delivery of a finished job's callback. */
  redeliver(userId: string, jobId: string): Promise<void>;
}

/** How many attempts the log shows (the newest). */
export const DELIVERIES_SHOWN = 100;

export function toDeliveryView(d: DeliveryRecord): Delivery {
  return {
    id: d.id,
    attemptedAt: d.attemptedAt.toISOString(),
    attempt: d.attempt,
    statusCode: d.statusCode,
    error: d.error,
    durationMs: d.durationMs,
    succeeded: d.succeeded,
  };
}

export function createDeliveriesService(deps: {
  /** the job if the user owns it (null otherwise) */
  getOwned(userId: string, jobId: string): Promise<JobRecord | null>;
  deliveries: Pick<DeliveriesRepository, 'listByJob'>;
  scheduler: { redeliver(jobId: string): Promise<void> };
}): DeliveriesService {
  const owned = async (userId: string, jobId: string) => {
    const job = await deps.getOwned(userId, jobId);
    if (!job) throw new NotFoundError('The job was not found.', 'JOB_NOT_FOUND');
    return job;
  };
  return {
    async list(userId, jobId) {
      const job = await owned(userId, jobId);
      return (await deps.deliveries.listByJob(job.id, DELIVERIES_SHOWN)).map(toDeliveryView);
    },
    async redeliver(userId, jobId) {
      const job = await owned(userId, jobId);
      if (!job.options.callbackUrl) {
        throw new ConflictError('The job has no callbackUrl to deliver to.', 'NO_CALLBACK');
      }
      if (job.status !== 'completed' && job.status !== 'failed') {
        throw new ConflictError(
          `The job is ${job.status}; its callback is sent when it completes or fails.`,
          'JOB_NOT_FINISHED',
        );
      }
      await deps.scheduler.redeliver(job.id);
    },
  };
}
