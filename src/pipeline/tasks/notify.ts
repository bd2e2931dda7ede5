import type { JobsRepository } from '../../db/repositories/jobs.js';
import { callbackPayload, type deliverCallback } from '../callbacks.js';

/** The `notify` task: one signed POST of the finished job to its callbackUrl (the queue retries). */
export interface NotifyTaskDeps {
  jobs: Pick<JobsRepository, 'getById'>;
  deliver: typeof deliverCallback;
  callbacks: { secret: string; allowlist: readonly string[] | null };
}

export function createNotifyTask(deps: NotifyTaskDeps) {
  return async function notifyJob({ jobId }: { jobId: string }): Promise<void> {
    const job = await deps.jobs.getById(jobId);
    if (!job?.options.callbackUrl) return;
    await deps.deliver(job.options.callbackUrl, callbackPayload(job), deps.callbacks);
  };
}
