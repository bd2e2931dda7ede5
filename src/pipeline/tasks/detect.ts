import type { ChunksRepository } from '../../db/repositories/chunks.js';
import type { JobsRepository } from '../../db/repositories/jobs.js';
import type { Detector } from '../../inference/types.js';
import type { TaskContext } from '../../queue/port.js';
import { analyseChunk, type ChunkAnalysisDeps } from '../analyse-chunk.js';
import type { JobScheduler } from '../next.js';

/**
 * The `detect` task: analyses one chunk (see analyse-chunk.ts), marks it done and queues `track`
 * (which tracks the chunks ready in order, and queues finalize after the last). A job that was
 * canceled, failed or deleted stops here.
 */
export interface DetectTaskDeps extends ChunkAnalysisDeps {
  jobs: Pick<JobsRepository, 'getById' | 'status' | 'refreshProgress'>;
  chunks: Pick<ChunksRepository, 'get' | 'mark' | 'setFramesDone'>;
  detectors: { get(name?: string): Promise<Detector> };
  scheduler: Pick<JobScheduler, 'track'>;
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
      if (!(await analyseChunk(deps, detector, job, chunk, ctx.signal))) return;
      await deps.chunks.mark(jobId, chunkIndex, { status: 'done' });
    }
    await deps.jobs.refreshProgress(jobId);
    await deps.scheduler.track(job, chunkIndex);
  };
}
