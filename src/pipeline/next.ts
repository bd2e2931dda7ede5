import type { EnqueueOptions, TaskName, TaskPayloads, TaskQueue } from '../queue/port.js';

/**
 * What comes next in a job's life, and how each task is queued: the one place that enqueues
 * pipeline tasks. The process task, the detect task, finalize and a restarted standalone server
 * all move a job on through here, so they cannot disagree about dedupe ids or retries.
 */

export interface RetrySettings {
  /** attempts per task before the job fails (TASK_ATTEMPTS) */
  attempts: number;
  /** first retry delay, doubled each attempt (TASK_BACKOFF_MS) */
  backoffMs: number;
}

/** A callback is worth more tries than a chunk: the receiver may be briefly down. */
const CALLBACK_RETRY: RetrySettings = { attempts: 5, backoffMs: 2000 };

/**
 * How a task is deduplicated and retried (as immich's getJobOptions). The dedupe id makes
 * enqueueing idempotent: a task already queued or running for the same job (and chunk) is not
 * added again, so "enqueue what comes next" may safely run twice.
 */
export function taskOptions<N extends TaskName>(
  name: N,
  payload: TaskPayloads[N],
  retry: RetrySettings,
): EnqueueOptions {
  const { jobId } = payload;
  const chunk = 'chunkIndex' in payload ? `:${payload.chunkIndex}` : '';
  const r = name === 'notify' ? CALLBACK_RETRY : retry;
  return { dedupeId: `${name}:${jobId}${chunk}`, attempts: r.attempts, backoffMs: r.backoffMs };
}

export interface ChunkState {
  chunkIndex: number;
  status: string;
}

export interface JobScheduler {
  /** A new job: plan it. */
  plan(jobId: string): Promise<void>;
  /**
   * A planned job: a detect task for every chunk not done yet, or finalize when all are done.
   * Returns how many detect tasks it queued.
   */
  continueJob(jobId: string, chunks: ChunkState[]): Promise<number>;
  /** Every chunk is done: summarise and complete the job. */
  finalize(jobId: string): Promise<void>;
  /** The job finished: deliver its callback, if it has one. */
  callback(jobId: string, callbackUrl: string | null): Promise<void>;
  /**
   * The owner asked for the callback again: one more notify task now, apart from any delivery
   * still waiting for its next retry (a second request while this one is queued adds nothing).
   */
  redeliver(jobId: string): Promise<void>;
}

export function createJobScheduler(deps: {
  queue: Pick<TaskQueue, 'enqueue'>;
  retry: RetrySettings;
}): JobScheduler {
  const enqueue = <N extends TaskName>(name: N, payload: TaskPayloads[N]) =>
    deps.queue.enqueue(name, payload, taskOptions(name, payload, deps.retry));
  return {
    plan: (jobId) => enqueue('process', { jobId }),
    async continueJob(jobId, chunks) {
      const left = chunks.filter((c) => c.status !== 'done');
      for (const c of left) await enqueue('detect', { jobId, chunkIndex: c.chunkIndex });
      if (left.length === 0) await enqueue('finalize', { jobId });
      return left.length;
    },
    finalize: (jobId) => enqueue('finalize', { jobId }),
    async callback(jobId, callbackUrl) {
      if (callbackUrl) await enqueue('notify', { jobId });
    },
    redeliver: (jobId) =>
      deps.queue.enqueue(
        'notify',
        { jobId },
        { ...taskOptions('notify', { jobId }, deps.retry), dedupeId: `notify:${jobId}:redeliver` },
      ),
  };
}
