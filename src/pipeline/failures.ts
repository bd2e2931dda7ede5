import type { ChunksRepository } from '../db/repositories/chunks.js';
import type { JobsRepository } from '../db/repositories/jobs.js';
import { withoutPaths } from '../errors.js';
import type { TaskName } from '../queue/port.js';
import type { JobScheduler } from './next.js';

/** Thrown for conditions a retry cannot fix; the message is shown to the user as the job's error. */
export class PermanentTaskError extends Error {}

/**
 * The job's error text after a task's last attempt failed: one sentence a user can read. This is
 * where an error becomes a job's error, so it is where file paths (from ffmpeg, the file system)
 * are taken out.
 */
export function failureReason(name: TaskName, payload: { chunkIndex?: number }, error: Error): string {
  const msg = withoutPaths(error.message.replace(/\s+/g, ' ').trim()).replace(/\.?$/, '.');
  if (error instanceof PermanentTaskError || error.name === 'RenderError') return msg;
  switch (name) {
    case 'process':
      return `The video could not be prepared for analysis: ${msg}`;
    case 'detect':
      return `Analysis failed in chunk ${payload.chunkIndex ?? '?'}: ${msg}`;
    case 'track':
      return `The objects could not be tracked: ${msg}`;
    case 'finalize':
      return `The results could not be summarised: ${msg}`;
    case 'render':
      return `The annotated video could not be made: ${msg}`;
    default:
      return msg;
  }
}

/** The job's error when chunk `index` was started `runs` times and its worker died each time. */
export function exhaustedChunkReason(index: number, runs: number): string {
  return `Analysis failed in chunk ${index}: it was started ${runs} times and its worker stopped each time.`;
}

/**
 * Fails a job with a sentence, the one way every path does it (a task's last attempt, the
 * watchdog, a standalone restart): the chunk at fault marked failed, the job failed at most once
 * (a conditional UPDATE: of several paths at once, one wins), and the winner queues the failure
 * callback. True when this call failed the job.
 */
export type FailJob = (jobId: string, reason: string, chunkIndex?: number) => Promise<boolean>;

export function createJobFailer(deps: {
  jobs: Pick<JobsRepository, 'fail' | 'getById'>;
  chunks: Pick<ChunksRepository, 'mark'>;
  scheduler: Pick<JobScheduler, 'callback'>;
}): FailJob {
  return async (jobId, reason, chunkIndex) => {
    if (chunkIndex !== undefined)
      await deps.chunks.mark(jobId, chunkIndex, { status: 'failed', error: reason });
    if (!(await deps.jobs.fail(jobId, reason))) return false;
    const job = await deps.jobs.getById(jobId);
    await deps.scheduler.callback(jobId, job?.options.callbackUrl ?? null);
    return true;
  };
}
