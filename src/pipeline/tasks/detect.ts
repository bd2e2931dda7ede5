import type { ChunksRepository } from '../../db/repositories/chunks.js';
import type { JobsRepository } from '../../db/repositories/jobs.js';
import type { Detector } from '../../inference/types.js';
import type { TaskContext } from '../../queue/port.js';
import { analyseChunk, type ChunkAnalysisDeps } from '../analyse-chunk.js';
import type { JobScheduler } from '../next.js';

/**
 * The `detect` task: analyses one chunk (see analyse-chunk.ts), marks it done, and when it was the
 * last one queues finalize. A job that was canceled, failed or deleted stops here.
 */
export interface DetectTaskDeps extends ChunkAnalysisDeps {
  jobs: Pick<JobsRepository, 'getById' | 'status' | 'refreshProgress'>;
  chunks: Pick<ChunksRepository, 'get' | 'mark' | 'setFramesDone' | 'setSkipped'>;
  detectors: { get(name?: string): Promise<Detector> };
  scheduler: Pick<JobScheduler, 'finalize'>;
}

export function createDetectTask(deps: DetectTaskDeps) {
  return async function detectChunk(
    { jobId, chunkIndex }: { jobId: string; chunkIndex: number },
    ctx: TaskContext,
  ): Promise<void> {
    const job = await deps.jobs.getById(jobId);
    if (job?.status !== 'processing') return; // canceled, failed or deleted: stop here
    const chunk = await deps.chunks.get(jobId, chunkIndex);
    if (!chunk) return;
    if (chunk.status !== 'done') {
      await deps.chunks.mark(jobId, chunkIndex, { status: 'running', startAttempt: true });
      const detector = await deps.detectors.get(job.options.model);
      // the chunk's own count includes runs whose worker died (the queue's does not)
      const lastAttempt = Math.max(ctx.attempt, chunk.attempts + 1) >= ctx.maxAttempts;
      if (!(await analyseChunk(deps, detector, job, chunk, ctx.signal, { lastAttempt }))) return;
      await deps.chunks.mark(jobId, chunkIndex, { status: 'done' });
    }
    const progress = await deps.jobs.refreshProgress(jobId);
    if (progress && progress.chunksDone >= progress.chunksTotal) await deps.scheduler.finalize(job);
  };
}
