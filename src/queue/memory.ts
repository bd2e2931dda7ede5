import { FairQueue } from './fair.js';
import {
  checkHandlers,
  DeferTask,
  type EnqueueOptions,
  emptyCounts,
  type FinalFailureListener,
  retryDelayFor,
  TASK_NAMES,
  type TaskHandlers,
  type TaskName,
  type TaskPayloads,
  type TaskQueue,
  type TaskState,
  toError,
  type WorkOptions,
} from './port.js';

interface Item {
  name: TaskName;
  payload: unknown;
  attempt: number;
  attempts: number;
  retry: Pick<EnqueueOptions, 'backoffMs' | 'retryDelaysMs' | 'retryJitter'>;
  dedupeId?: string;
  fairnessKey: string;
}

/**
 * In-process queue with the semantics of the BullMQ adapter: concurrency (in total), retries with
 * backoff on timers, dedupe while queued/running/waiting to retry, round-robin across fairness
 * keys (FairQueue), final-failure listeners, graceful close. Tasks do not survive the process
 * (the standalone app re-enqueues unfinished jobs at start-up).
 *
 * Like BullMQ's one queue per task name, each name has its own FairQueue, and the free slot goes
 * to the names in turn: a user's short `process` or `finalize` task waits for the task running
 * now, not for a turn among everybody's `detect` tasks.
 */
export function createMemoryQueue(): TaskQueue {
  const ready = new Map<TaskName, FairQueue<Item>>(TASK_NAMES.map((n) => [n, new FairQueue<Item>()]));
  let nameTurn = 0; // the index in TASK_NAMES whose turn comes next
  const timers = new Set<NodeJS.Timeout>();
  /** dedupeId → where that task is; absent once it finished (either way) */
  const states = new Map<string, 'waiting' | 'delayed' | 'active'>();
  const listeners: FinalFailureListener[] = [];
  const running = new Set<Promise<void>>();
  const abort = new AbortController();
  let handlers: TaskHandlers | null = null;
  let consumed = new Set<TaskName>();
  let concurrency = 1;
  let closed = false;
  // for counts(): tasks on a timer (delay or retry backoff), running, and failed for good
  const counts = emptyCounts();

  const mark = (item: Item, state: 'waiting' | 'delayed' | 'active' | null) => {
    if (!item.dedupeId) return;
    if (state) states.set(item.dedupeId, state);
    else states.delete(item.dedupeId);
  };

  function later(item: Item, ms: number) {
    const push = () => {
      mark(item, 'waiting');
      ready.get(item.name)?.push(item.fairnessKey, item);
      pump();
    };
    if (ms <= 0) return push();
    mark(item, 'delayed');
    counts[item.name].delayed++;
    const t = setTimeout(() => {
      timers.delete(t);
      counts[item.name].delayed--;
      push();
    }, ms);
    timers.add(t);
  }

  /** The next task: names in turn, then round-robin across keys within the name. */
  function take(): Item | undefined {
    for (let i = 0; i < TASK_NAMES.length; i++) {
      const k = (nameTurn + i) % TASK_NAMES.length;
      const name = TASK_NAMES[k];
      const item = consumed.has(name) ? ready.get(name)?.take() : undefined;
      if (item) {
        nameTurn = k + 1;
        return item;
      }
    }
    return undefined;
  }

  function pump() {
    if (closed || !handlers) return;
    while (running.size < concurrency) {
      const item = take();
      if (!item) return;
      mark(item, 'active');
      counts[item.name].active++;
      const p = runItem(item).finally(() => {
        counts[item.name].active--;
        running.delete(p);
        pump();
      });
      running.add(p);
    }
  }

  async function runItem(item: Item) {
    const handler = handlers?.[item.name] as ((p: unknown, c: unknown) => Promise<void>) | undefined;
    try {
      if (!handler) throw new Error(`No handler registered for task "${item.name}".`);
      await handler(item.payload, {
        attempt: item.attempt,
        maxAttempts: item.attempts,
        signal: abort.signal,
      });
      mark(item, null);
    } catch (e) {
      if (e instanceof DeferTask && !closed) return later(item, e.delayMs); // same attempt again
      const err = toError(e);
      if (item.attempt < item.attempts && !closed) {
        return later({ ...item, attempt: item.attempt + 1 }, retryDelayFor(item.retry, item.attempt));
      }
      mark(item, null);
      if (closed && item.attempt < item.attempts) return; // shutting down: not a final failure
      if (e instanceof DeferTask) return;
      counts[item.name].failed++;
      for (const l of listeners) {
        try {
          await l(item.name, item.payload as TaskPayloads[TaskName], err);
        } catch {
          // a failing listener must not break the queue
        }
      }
    }
  }

  return {
    async enqueue<N extends TaskName>(name: N, payload: TaskPayloads[N], opts: EnqueueOptions = {}) {
      if (closed) throw new Error('The task queue is closed.');
      if (opts.dedupeId && states.has(opts.dedupeId)) return;
      const item: Item = {
        name,
        payload: structuredClone(payload),
        attempt: 1,
        attempts: Math.max(1, opts.attempts ?? 1),
        retry: {
          backoffMs: opts.backoffMs,
          retryDelaysMs: opts.retryDelaysMs,
          retryJitter: opts.retryJitter,
        },
        dedupeId: opts.dedupeId,
        fairnessKey: opts.fairnessKey ?? '',
      };
      later(item, opts.delayMs ?? 0);
    },
    async work(h: TaskHandlers, opts: WorkOptions) {
      const names = checkHandlers(h, opts.names);
      if (handlers) throw new Error('work() was already called on this queue.');
      handlers = h;
      consumed = new Set(names);
      concurrency = Math.max(1, Math.floor(opts.concurrency));
      queueMicrotask(pump);
    },
    onFinalFailure(l: FinalFailureListener) {
      listeners.push(l);
    },
    async taskState(_name: TaskName, dedupeId: string): Promise<TaskState> {
      // finished tasks are forgotten: completed and failed both read as missing here
      return { state: states.get(dedupeId) ?? 'missing' };
    },
    async tryLease() {
      return true; // one process: it always holds every lease
    },
    async ping() {},
    async counts() {
      const out = structuredClone(counts);
      for (const [name, waiting] of ready) out[name].waiting += waiting.size;
      return out;
    },
    async close(opts: { timeoutMs?: number } = {}) {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const c of Object.values(counts)) c.delayed = 0;
      abort.abort(new Error('The task queue is closing.'));
      const all = Promise.allSettled([...running]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise((r) => (timer = setTimeout(r, opts.timeoutMs ?? 30_000)))]);
      clearTimeout(timer);
    },
  };
}
