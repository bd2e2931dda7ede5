/**
 * The task queue port: one typed map from task name to payload. Only ids and chunk numbers travel
 * through the queue, never frames. Adapters: memory.ts (in-process, standalone) and bullmq.ts
 * (Redis, distributed); the same contract tests run against both.
 */
export interface TaskPayloads {
  process: { jobId: string };
  detect: { jobId: string; chunkIndex: number };
  finalize: { jobId: string };
  notify: { jobId: string };
}

export type TaskName = keyof TaskPayloads;

export const TASK_NAMES: readonly TaskName[] = ['process', 'detect', 'finalize', 'notify'];

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
  delayMs?: number;
}

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
