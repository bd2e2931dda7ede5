import type { Logger } from 'pino';
import type { PipelineRepository } from '../db/repositories/pipeline.js';
import type { TaskName, TaskPayloads, TaskQueue } from '../queue/port.js';
import { failureReason } from './tasks.js';
import { exhaustedChunkReason } from './watchdog.js';

/**
 * The pipeline as the rest of the service sees it: submit a job, cancel it, take up unfinished
 * jobs after a restart, and turn a task's last failed attempt into a failed job.
 */
export interface Pipeline {
  submit(jobId: string): Promise<void>;
  cancel(jobId: string): Promise<void>;
  /** Standalone restart: re-enqueue what an in-memory queue lost when the process stopped. */
  resumeUnfinished(): Promise<number>;
}

export function createPipeline(deps: {
  repo: PipelineRepository;
  queue: TaskQueue;
  log: Logger;
  settings: { attempts: number; backoffMs: number };
  /** enqueue the job's callback after it failed */
  afterFailure(jobId: string): Promise<void>;
}): Pipeline {
  const { repo, queue, settings } = deps;
  const opts = (dedupeId: string, fairnessKey: string) => ({
    dedupeId,
    fairnessKey,
    attempts: settings.attempts,
    backoffMs: settings.backoffMs,
  });

  queue.onFinalFailure(async (name: TaskName, payload: TaskPayloads[TaskName], error: Error) => {
    const jobId = (payload as { jobId: string }).jobId;
    if (name === 'notify') {
      deps.log.warn({ jobId, err: error }, 'job callback could not be delivered');
      return;
    }
    const chunkIndex = (payload as { chunkIndex?: number }).chunkIndex;
    const reason = failureReason(name, { chunkIndex }, error);
    if (chunkIndex !== undefined)
      await repo.markChunk(jobId, chunkIndex, { status: 'failed', error: reason });
    if (await repo.finish(jobId, 'failed', { error: reason })) {
      deps.log.warn({ jobId, task: name, err: error }, 'job failed');
      await deps.afterFailure(jobId);
    }
  });

  return {
    async submit(jobId) {
      const job = await repo.getJob(jobId);
      if (!job) return;
      await queue.enqueue('process', { jobId }, opts(`process:${jobId}`, job.userId));
    },
    async cancel(jobId) {
      // running detect tasks check the status between batches and stop; queued ones no-op
      await repo.finish(jobId, 'canceled', {});
    },
    async resumeUnfinished() {
      const jobs = await repo.unfinishedJobs();
      for (const job of jobs) {
        const chunks = job.status === 'processing' ? await repo.listChunks(job.id) : [];
        if (chunks.length === 0) {
          await queue.enqueue('process', { jobId: job.id }, opts(`process:${job.id}`, job.userId));
          continue;
        }
        const left = chunks.filter((c) => c.status !== 'done');
        // a chunk started TASK_ATTEMPTS times already may be what brought the process down:
        // fail the job instead of running it again (a crash loop)
        const exhausted = left.find((c) => c.attempts >= settings.attempts);
        if (exhausted) {
          const reason = exhaustedChunkReason(exhausted.chunkIndex, exhausted.attempts);
          await repo.markChunk(job.id, exhausted.chunkIndex, { status: 'failed', error: reason });
          if (await repo.finish(job.id, 'failed', { error: reason })) await deps.afterFailure(job.id);
          continue;
        }
        for (const c of left) {
          await queue.enqueue(
            'detect',
            { jobId: job.id, chunkIndex: c.chunkIndex },
            opts(`detect:${job.id}:${c.chunkIndex}`, job.userId),
          );
        }
        if (left.length === 0)
          await queue.enqueue('finalize', { jobId: job.id }, opts(`finalize:${job.id}`, job.userId));
      }
      return jobs.length;
    },
  };
}
