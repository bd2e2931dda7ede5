import type { Logger } from 'pino';
import type { ChunksRepository } from '../db/repositories/chunks.js';
import type { JobsRepository } from '../db/repositories/jobs.js';
import type { TaskName, TaskPayloads, TaskQueue } from '../queue/port.js';
import { failureReason } from './failures.js';
import type { JobScheduler } from './next.js';

/**
 * The pipeline as the rest of the service sees it: submit a job, take up unfinished jobs after a
 * restart, and turn a task's last failed attempt into a failed job with a sentence.
 */
export interface Pipeline {
  submit(jobId: string): Promise<void>;
  /** Standalone restart: re-enqueue what an in-memory queue lost when the process stopped. */
  resumeUnfinished(): Promise<number>;
}

export function createPipeline(deps: {
  jobs: Pick<JobsRepository, 'listUnfinished' | 'fail' | 'getById'>;
  chunks: Pick<ChunksRepository, 'list' | 'mark'>;
  queue: Pick<TaskQueue, 'onFinalFailure'>;
  scheduler: JobScheduler;
  log: Logger;
}): Pipeline {
  const { jobs, chunks, scheduler } = deps;

  deps.queue.onFinalFailure(async (name: TaskName, payload: TaskPayloads[TaskName], error: Error) => {
    const { jobId } = payload;
    if (name === 'notify') {
      deps.log.warn({ jobId, err: error }, 'job callback could not be delivered');
      return;
    }
    const chunkIndex = 'chunkIndex' in payload ? payload.chunkIndex : undefined;
    const reason = failureReason(name, { chunkIndex }, error);
    if (chunkIndex !== undefined) await chunks.mark(jobId, chunkIndex, { status: 'failed', error: reason });
    if (await jobs.fail(jobId, reason)) {
      deps.log.warn({ jobId, task: name, err: error }, 'job failed');
      const job = await jobs.getById(jobId);
      await scheduler.callback(jobId, job?.options.callbackUrl ?? null);
    }
  });

  return {
    submit: (jobId) => scheduler.plan(jobId),
    async resumeUnfinished() {
      const unfinished = await jobs.listUnfinished();
      for (const job of unfinished) {
        const planned = job.status === 'processing' ? await chunks.list(job.id) : [];
        if (planned.length === 0) await scheduler.plan(job.id);
        else await scheduler.continueJob(job.id, planned);
      }
      return unfinished.length;
    },
  };
}
