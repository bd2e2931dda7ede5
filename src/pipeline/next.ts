import type { EnqueueOptions, TaskName, TaskPayloads, TaskQueue } from '../queue/port.js';

/**
 * What comes next in a job's life, and how each task is queued: the one place that enqueues
 * pipeline tasks. The process task, the detect task, finalize, the watchdog and a restarted
 * standalone server all move a job on through here, so they cannot disagree about dedupe ids,
 * retries or whose turn a task takes (its fairness key, the job's owner).
 */

export interface RetrySettings {
  /** attempts per task before the job fails (TASK_ATTEMPTS) */
  attempts: number;
  /** first retry delay, doubled each attempt (TASK_BACKOFF_MS) */
  backoffMs: number;
}

/**
 * Delays between callback deliveries: 10 s, 1 min, 5 min, 30 min, 2 h, 6 h (about 8.6 h in all),
 * so a receiver that is down for hours still gets its callback. CALLBACK_RETRY_DELAYS replaces it.
 */
export const CALLBACK_RETRY_DELAYS_MS: readonly number[] = [
  10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000,
];
/** Each delay is spread by ±20 % so receivers coming back up are not hit by every sender at once. */
export const CALLBACK_RETRY_JITTER = 0.2;

/** A job as the scheduler needs it: its id, and its owner (the fairness key of its tasks). */
export interface JobRef {
  id: string;
  userId: string;
}

/** The dedupe id of a task: one per job (and chunk, or render) and task name. The watchdog asks the queue by it. */
export function taskId<N extends TaskName>(name: N, payload: TaskPayloads[N]): string {
  const chunk = 'chunkIndex' in payload ? `:${payload.chunkIndex}` : '';
  const render = 'renderId' in payload ? `:${payload.renderId}` : '';
  return `${name}:${payload.jobId}${chunk}${render}`;
}

/**
 * How a task is deduplicated, retried and scheduled (as immich's getJobOptions). The dedupe id
 * makes enqueueing idempotent: a task already queued or running for the same job (and chunk) is
 * not added again, so "enqueue what comes next" may safely run twice. Pipeline tasks carry their
 * job owner's id as fairness key: the queue serves users in turn (see src/queue/fair.ts).
 * Callbacks are retried on a schedule over hours instead (and are not fair-queued: each is one
 * short POST).
 */
export function taskOptions<N extends TaskName>(
  name: N,
  payload: TaskPayloads[N],
  retry: RetrySettings & { callbackDelaysMs?: readonly number[] },
  owner?: string,
): EnqueueOptions {
  const dedupeId = taskId(name, payload);
  if (name === 'notify') {
    const delays = retry.callbackDelaysMs ?? CALLBACK_RETRY_DELAYS_MS;
    return {
      dedupeId,
      attempts: delays.length + 1,
      retryDelaysMs: delays,
      retryJitter: CALLBACK_RETRY_JITTER,
    };
  }
  return { dedupeId, attempts: retry.attempts, backoffMs: retry.backoffMs, fairnessKey: owner };
}

export interface ChunkState {
  chunkIndex: number;
  status: string;
}

export interface JobScheduler {
  /** A new job: plan it. */
  plan(job: JobRef): Promise<void>;
  /**
   * A planned job: a detect task for every chunk not done yet, and a track task when some chunk
   * is done (tracking may have stopped with the process that ran it; it catches up with every
   * chunk done, in order, and queues finalize after the last). Returns how many detect tasks it
   * queued.
   */
  continueJob(job: JobRef, chunks: ChunkState[]): Promise<number>;
  /**
   * Chunk `chunkIndex` is detected: track what is ready. The dedupe id is per chunk, so a track
   * task still running for an earlier chunk (which may have looked at this chunk before it was
   * done) cannot swallow this one's wake-up.
   */
  track(job: JobRef, chunkIndex: number): Promise<void>;
  /** Every chunk is tracked: summarise and complete the job. */
  finalize(job: JobRef): Promise<void>;
  /** The job finished: deliver its callback, if it has one. */
  callback(jobId: string, callbackUrl: string | null): Promise<void>;
  /**
   * The owner asked for the callback again: one more notify task now, apart from any delivery
   * still waiting for its next retry (a second request while this one is queued adds nothing).
   */
  redeliver(jobId: string): Promise<void>;
  /** An annotated video of a completed job was asked for: one render task (any worker takes it). */
  render(job: JobRef, renderId: string): Promise<void>;
}

export function createJobScheduler(deps: {
  queue: Pick<TaskQueue, 'enqueue'>;
  retry: RetrySettings;
  /** delays between callback attempts (CALLBACK_RETRY_DELAYS; default CALLBACK_RETRY_DELAYS_MS) */
  callbackRetryDelaysMs?: readonly number[];
}): JobScheduler {
  const retry = { ...deps.retry, callbackDelaysMs: deps.callbackRetryDelaysMs };
  const enqueue = <N extends TaskName>(name: N, payload: TaskPayloads[N], owner?: string) =>
    deps.queue.enqueue(name, payload, taskOptions(name, payload, retry, owner));
  return {
    plan: (job) => enqueue('process', { jobId: job.id }, job.userId),
    async continueJob(job, chunks) {
      const left = chunks.filter((c) => c.status !== 'done');
      for (const c of left) await enqueue('detect', { jobId: job.id, chunkIndex: c.chunkIndex }, job.userId);
      const done = chunks.filter((c) => c.status === 'done');
      if (done.length > 0) {
        const chunkIndex = Math.max(...done.map((c) => c.chunkIndex));
        await enqueue('track', { jobId: job.id, chunkIndex }, job.userId);
      }
      return left.length;
    },
    track: (job, chunkIndex) => enqueue('track', { jobId: job.id, chunkIndex }, job.userId),
    finalize: (job) => enqueue('finalize', { jobId: job.id }, job.userId),
    async callback(jobId, callbackUrl) {
      if (callbackUrl) await enqueue('notify', { jobId });
    },
    redeliver: (jobId) =>
      deps.queue.enqueue(
        'notify',
        { jobId },
        { ...taskOptions('notify', { jobId }, deps.retry), dedupeId: `notify:${jobId}:redeliver` },
      ),
    render: (job, renderId) => enqueue('render', { jobId: job.id, renderId }, job.userId),
  };
}
