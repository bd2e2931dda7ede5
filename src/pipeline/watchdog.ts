import type { Logger } from 'pino';
import type { ChunksRepository } from '../db/repositories/chunks.js';
import type { JobActivity, JobsRepository } from '../db/repositories/jobs.js';
import type { TaskName, TaskQueue, TaskState } from '../queue/port.js';
import { exhaustedChunkReason, type FailJob, failureReason } from './failures.js';
import { type JobScheduler, taskId } from './next.js';

/**
 * No job stays unfinished for good. The queue's own failure path (the final-failure listener)
 * runs only in the process whose worker saw the last attempt fail; a chunk whose worker dies each
 * time, a process that dies inside the listener, or a task Redis lost would leave the job
 * `processing` forever. Every `intervalMs` one process (the holder of the "watchdog" lease) looks
 * at every unfinished job and:
 *
 * - fails it when it made no progress (nothing written, no chunk started) for stallMs;
 * - fails it when one of its chunks was started maxRuns times (TASK_ATTEMPTS) and the queue will
 *   not run it again by itself (its worker died and no other took it up, or the queue lost it):
 *   a chunk that kills its worker is not retried for ever;
 * - once the job has been idle for idleMs: fails it when a task it needs failed for good in the
 *   queue (the listener never ran), and re-queues a task it needs that the queue no longer has.
 *
 * A job that is moving (something written within idleMs) costs one database row and a queue
 * lookup per chunk already started maxRuns times; an idle one a lookup per unfinished chunk.
 *
 * A job failed here gets one sentence, its failure callback, and its chunk marked failed, exactly
 * as through the listener (failJob: of the two, only one wins). A task is queued again through the
 * scheduler (next.ts), with the same dedupe id, retries and fairness key as the first time.
 */

export interface WatchdogSettings {
  /** runs a chunk may have (TASK_ATTEMPTS) */
  maxRuns: number;
  /** a processing job with no progress for this long is failed (JOB_STALL_SECONDS) */
  stallMs: number;
  /** a job idle this long has its missing tasks re-queued */
  idleMs: number;
}

export interface WatchdogReport {
  failed: { jobId: string; reason: string }[];
  requeued: { jobId: string; task: TaskName; dedupeId: string }[];
}

export interface Watchdog {
  /** one pass over the unfinished jobs (whoever holds the lease or not: the caller decides) */
  sweep(): Promise<WatchdogReport>;
  /** sweeps every intervalMs while this process holds the lease; stop() ends it */
  start(intervalMs: number): { stop(): Promise<void> };
}

const minutes = (ms: number) => {
  const m = Math.round(ms / 60_000);
  return m >= 1 ? `${m} minute${m === 1 ? '' : 's'}` : `${Math.round(ms / 1000)} seconds`;
};

/** A task a job needs next, and how to queue it again. */
interface NeededTask {
  name: TaskName;
  dedupeId: string;
  chunkIndex?: number;
  requeue(): Promise<unknown>;
}

export function createWatchdog(deps: {
  jobs: Pick<JobsRepository, 'listUnfinishedActivity'>;
  chunks: Pick<ChunksRepository, 'list'>;
  queue: Pick<TaskQueue, 'taskState' | 'tryLease'>;
  scheduler: Pick<JobScheduler, 'plan' | 'continueJob' | 'finalize'>;
  failJob: FailJob;
  log: Logger;
  settings: WatchdogSettings;
}): Watchdog {
  const { queue, scheduler, settings } = deps;

  async function fail(report: WatchdogReport, jobId: string, reason: string, chunkIndex?: number) {
    if (await deps.failJob(jobId, reason, chunkIndex)) {
      deps.log.warn({ jobId, reason }, 'watchdog failed a stuck job');
      report.failed.push({ jobId, reason });
    }
  }

  /** What to do about one task the job needs: nothing, fail the job, or re-queue it. */
  async function check(
    report: WatchdogReport,
    job: JobActivity,
    task: NeededTask,
    state: TaskState,
  ): Promise<'stop' | 'ok'> {
    if (state.state === 'failed') {
      const reason = failureReason(task.name, { chunkIndex: task.chunkIndex }, new Error(state.reason));
      await fail(report, job.id, reason, task.chunkIndex);
      return 'stop';
    }
    if (state.state === 'missing') {
      await task.requeue();
      report.requeued.push({ jobId: job.id, task: task.name, dedupeId: task.dedupeId });
    }
    return 'ok';
  }

  async function sweepJob(report: WatchdogReport, job: JobActivity) {
    if (job.status === 'processing' && job.idleMs >= settings.stallMs) {
      await fail(report, job.id, `The job made no progress for ${minutes(job.idleMs)} and was stopped.`);
      return;
    }
    const idle = job.idleMs >= settings.idleMs;
    const chunks = job.status === 'processing' && job.chunksTotal > 0 ? await deps.chunks.list(job.id) : [];
    const left = chunks.filter((c) => c.status !== 'done');
    if (left.length === 0) {
      if (!idle) return;
      // not planned yet: the process task (which may be waiting for the user's slot); every
      // chunk done: finalize
      const name = chunks.length === 0 ? 'process' : 'finalize';
      const task: NeededTask = {
        name,
        dedupeId: taskId(name, { jobId: job.id }),
        requeue: () => (name === 'process' ? scheduler.plan(job) : scheduler.finalize(job)),
      };
      await check(report, job, task, await queue.taskState(name, task.dedupeId));
      return;
    }
    for (const c of left) {
      const exhausted = c.attempts >= settings.maxRuns;
      if (!exhausted && !idle) continue;
      const dedupeId = taskId('detect', { jobId: job.id, chunkIndex: c.chunkIndex });
      const state = await queue.taskState('detect', dedupeId);
      // started maxRuns times, and nothing will run it again: it had its chances
      if (exhausted && (state.state === 'stalled' || state.state === 'missing')) {
        await fail(report, job.id, exhaustedChunkReason(c.chunkIndex, c.attempts), c.chunkIndex);
        return;
      }
      if (!idle) continue; // a failed task's listener may be running right now: give it time
      const task: NeededTask = {
        name: 'detect',
        dedupeId,
        chunkIndex: c.chunkIndex,
        requeue: () => scheduler.continueJob(job, [c]),
      };
      if ((await check(report, job, task, state)) === 'stop') return;
    }
  }

  async function sweep(): Promise<WatchdogReport> {
    const report: WatchdogReport = { failed: [], requeued: [] };
    for (const job of await deps.jobs.listUnfinishedActivity()) {
      try {
        await sweepJob(report, job);
      } catch (err) {
        deps.log.warn({ jobId: job.id, err }, 'watchdog could not check a job');
      }
    }
    return report;
  }

  return {
    sweep,
    start(intervalMs) {
      let stopped = false;
      let running: Promise<unknown> = Promise.resolve();
      const tick = async () => {
        // the lease outlives a missed tick or two, so one process keeps it while it lives
        if (!(await queue.tryLease('watchdog', intervalMs * 3))) return;
        await sweep();
      };
      const timer = setInterval(() => {
        if (stopped) return;
        running = running.then(tick).catch((err) => deps.log.warn({ err }, 'watchdog sweep failed'));
      }, intervalMs);
      timer.unref();
      return {
        async stop() {
          stopped = true;
          clearInterval(timer);
          await running;
        },
      };
    },
  };
}
