/**
 * The task queue port: one typed map from task name to payload. Only ids and chunk numbers travel
 * through the queue, never frames. Adapters: memory.ts (in-process, standalone) and bullmq.ts
 * (Redis, distributed); the same contract tests run against both.
 */
export interface TaskPayloads {
  process: { jobId: string };
  detect: { jobId: string; chunkIndex: number };
  /** track the job's chunks that are ready, in order; chunkIndex: the detected chunk that asked */
  track: { jobId: string; chunkIndex: number };
  finalize: { jobId: string };
  notify: { jobId: string };
  /** draw a completed job's boxes into an annotated video (any worker; see src/pipeline/tasks/render.ts) */
  render: { jobId: string; renderId: string };
}

export type TaskName = keyof TaskPayloads;

export const TASK_NAMES: readonly TaskName[] = ['process', 'detect', 'track', 'finalize', 'notify', 'render'];

export interface TaskContext {
  /** 1-based attempt number */
  attempt: number;
  maxAttempts: number;
  /** aborted when the queue closes (shutdown): stop work that would outlive the process */
  signal: AbortSignal;
}

export type TaskHandler<N extends TaskName> = (payload: TaskPayloads[N], ctx: TaskContext) => Promise<void>;

export type TaskHandlers = Partial<{ [N in TaskName]: TaskHandler<N> }>;

export interface EnqueueOptions {
  /** a task with this id already queued or running is not added again */
  dedupeId?: string;
  /** total attempts (default 1) */
  attempts?: number;
  /** first retry delay; attempt k waits backoffMs * 2^(k-1) (default 1000) */
  backoffMs?: number;
  /**
   * Retry delays instead of backoffMs' doubling: the retry after failed attempt k waits
   * retryDelaysMs[k-1] (the last one repeats), each spread by ±retryJitter (a fraction, default 0).
   */
  retryDelaysMs?: readonly number[];
  retryJitter?: number;
  delayMs?: number;
  /**
   * Who the task is for (the job owner's user id). Waiting tasks are taken round-robin across
   * keys, FIFO within one key, so one key's thousand tasks do not hold another key's one task
   * for more than about one task. Tasks without a key share one anonymous key. Not with delayMs:
   * a delayed task is not fair-queued.
   */
  fairnessKey?: string;
}

/**
 * Thrown by a handler to run the same task again after delayMs without counting an attempt
 * (a condition outside the task, such as the user's active-job limit, is not met yet).
 */
export class DeferTask extends Error {
  constructor(readonly delayMs: number) {
    super(`task deferred for ${delayMs} ms`);
    this.name = 'DeferTask';
  }
}

/**
 * Where a task identified by its dedupeId is (the watchdog asks). 'stalled': taken by a worker
 * that is gone (its lock expired) and not yet taken up again.
 */
export type TaskState =
  | { state: 'waiting' | 'delayed' | 'active' | 'stalled' | 'completed' | 'missing' }
  | { state: 'failed'; reason: string };

export type FinalFailureListener = <N extends TaskName>(
  name: N,
  payload: TaskPayloads[N],
  error: Error,
) => void | Promise<void>;

export interface WorkOptions {
  /** handlers running at once (per task name for BullMQ, in total for memory) */
  concurrency: number;
  /** consume only these names (default: the names of the handlers given) */
  names?: TaskName[];
}

/** Tasks of one name by state: waiting (ready to run), active (running), delayed (waiting to retry or for a delay), failed (kept after their last attempt). */
export interface TaskCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface TaskQueue {
  enqueue<N extends TaskName>(name: N, payload: TaskPayloads[N], opts?: EnqueueOptions): Promise<void>;
  /** starts consuming; rejects at once when a handler name is unknown or a consumed name has no handler */
  work(handlers: TaskHandlers, opts: WorkOptions): Promise<void>;
  onFinalFailure(listener: FinalFailureListener): void;
  /** Where the task enqueued with this dedupeId is; 'missing' when the queue knows nothing of it. */
  taskState(name: TaskName, dedupeId: string): Promise<TaskState>;
  /**
   * Takes or renews a lease named `key` for ttlMs; true while this queue instance holds it. One
   * holder across every process sharing the queue (for singletons such as the watchdog).
   */
  tryLease(key: string, ttlMs: number): Promise<boolean>;
  ping(): Promise<void>;
  /** tasks per name and state, for metrics (BullMQ: every process's tasks; memory: this process's) */
  counts(): Promise<Record<TaskName, TaskCounts>>;
  /** stops taking tasks, aborts running handlers' signals and waits for them (up to timeoutMs, default 30 s) */
  close(opts?: { timeoutMs?: number }): Promise<void>;
}

export const DEFAULT_BACKOFF_MS = 1000;

/** Delay before attempt `nextAttempt` (2-based): backoffMs * 2^(nextAttempt-2). */
export function backoffDelay(backoffMs: number, failedAttempt: number): number {
  return backoffMs * 2 ** (failedAttempt - 1);
}

/**
 * Delay after failed attempt `failedAttempt` (1-based) on a schedule: delays[k-1], the last one
 * repeating, spread uniformly over ±jitter of itself. `random` is Math.random (tests pass their own).
 */
export function scheduledRetryDelay(
  delays: readonly number[],
  failedAttempt: number,
  jitter = 0,
  random: () => number = Math.random,
): number {
  if (delays.length === 0) return 0;
  const base = delays[Math.min(Math.max(1, failedAttempt), delays.length) - 1];
  const spread = Math.min(Math.max(jitter, 0), 1);
  return Math.max(0, Math.round(base * (1 + spread * (2 * random() - 1))));
}

/** The retry delay an adapter applies after failed attempt `failedAttempt` of a task with these options. */
export function retryDelayFor(
  o: Pick<EnqueueOptions, 'backoffMs' | 'retryDelaysMs' | 'retryJitter'>,
  failedAttempt: number,
): number {
  if (o.retryDelaysMs && o.retryDelaysMs.length > 0)
    return scheduledRetryDelay(o.retryDelaysMs, failedAttempt, o.retryJitter ?? 0);
  return backoffDelay(o.backoffMs ?? DEFAULT_BACKOFF_MS, failedAttempt);
}

/** Checks handler names against the task map; returns the names to consume. Throws on a typo. */
export function checkHandlers(handlers: TaskHandlers, names?: TaskName[]): TaskName[] {
  const known = new Set<string>(TASK_NAMES);
  for (const key of Object.keys(handlers)) {
    if (!known.has(key))
      throw new Error(`Unknown task handler "${key}": tasks are ${TASK_NAMES.join(', ')}.`);
  }
  const consume = names ?? (Object.keys(handlers) as TaskName[]);
  for (const n of consume) {
    if (!known.has(n)) throw new Error(`Unknown task name "${n}": tasks are ${TASK_NAMES.join(', ')}.`);
    if (typeof handlers[n] !== 'function') throw new Error(`No handler registered for task "${n}".`);
  }
  if (consume.length === 0) throw new Error('No task handlers to run.');
  return consume;
}

export function emptyCounts(): Record<TaskName, TaskCounts> {
  return Object.fromEntries(
    TASK_NAMES.map((n) => [n, { waiting: 0, active: 0, delayed: 0, failed: 0 }]),
  ) as Record<TaskName, TaskCounts>;
}

export function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
