import type { Logger } from 'pino';
import type { ChunksRepository } from '../db/repositories/chunks.js';
import type { JobsRepository } from '../db/repositories/jobs.js';
import type { RendersRepository } from '../db/repositories/renders.js';
import type { TaskName, TaskPayloads, TaskQueue } from '../queue/port.js';
import { exhaustedChunkReason, type FailJob, failureReason } from './failures.js';
import type { JobRef, JobScheduler } from './next.js';

/**
 * The pipeline as the rest of the service sees it: submit a job, take up unfinished jobs after a
 * restart, and turn a task's last failed attempt into a failed job with a sentence.
 */
export interface Pipeline {
  submit(job: JobRef): Promise<void>;
  /** Standalone restart: re-enqueue what an in-memory queue lost when the process stopped. */
  resumeUnfinished(): Promise<number>;
}

export function createPipeline(deps: {
  jobs: Pick<JobsRepository, 'listUnfinished'>;
  chunks: Pick<ChunksRepository, 'list'>;
  queue: Pick<TaskQueue, 'onFinalFailure'>;
  scheduler: JobScheduler;
  failJob: FailJob;
  /** renders fail on their own (the job stays completed) and are taken up again after a restart */
  renders?: Pick<RendersRepository, 'fail' | 'listUnfinished'>;
  /** runs a chunk may have (TASK_ATTEMPTS): one started that often is not run again at restart */
  maxRuns: number;
  log: Logger;
}): Pipeline {
  const { jobs, chunks, scheduler } = deps;

  deps.queue.onFinalFailure(async (name: TaskName, payload: TaskPayloads[TaskName], error: Error) => {
    const { jobId } = payload;
    if (name === 'notify') {
      deps.log.warn({ jobId, err: error }, 'job callback could not be delivered');
      return;
    }
    if (name === 'render') {
      const { renderId } = payload as TaskPayloads['render'];
      if (await deps.renders?.fail(renderId, failureReason(name, {}, error)))
        deps.log.warn({ jobId, renderId, err: error }, 'render failed');
      return;
    }
    // only a detect task's chunk is at fault (a track task's chunkIndex only says who asked)
    const chunkIndex = name === 'detect' && 'chunkIndex' in payload ? payload.chunkIndex : undefined;
    if (await deps.failJob(jobId, failureReason(name, { chunkIndex }, error), chunkIndex))
      deps.log.warn({ jobId, task: name, err: error }, 'job failed');
  });

  return {
    submit: (job) => scheduler.plan(job),
    async resumeUnfinished() {
      const unfinished = await jobs.listUnfinished();
      for (const job of unfinished) {
        const planned = job.status === 'processing' ? await chunks.list(job.id) : [];
        // a chunk started TASK_ATTEMPTS times already may be what brought the process down:
        // fail the job instead of running it again (a crash loop)
        const exhausted = planned.find((c) => c.status !== 'done' && c.attempts >= deps.maxRuns);
        if (exhausted)
          await deps.failJob(
            job.id,
            exhaustedChunkReason(exhausted.chunkIndex, exhausted.attempts),
            exhausted.chunkIndex,
          );
        else if (planned.length === 0) await scheduler.plan(job);
        else await scheduler.continueJob(job, planned);
      }
      // renders the in-memory queue lost (a render is redone from the start)
      for (const r of (await deps.renders?.listUnfinished(10_000)) ?? [])
        await scheduler.render({ id: r.jobId, userId: r.userId }, r.id);
      return unfinished.length;
    },
  };
}
