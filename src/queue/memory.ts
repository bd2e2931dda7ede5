import {
  backoffDelay,
  checkHandlers,
  DEFAULT_BACKOFF_MS,
  type EnqueueOptions,
  emptyCounts,
  type FinalFailureListener,
  type TaskHandlers,
  type TaskName,
  type TaskPayloads,
  type TaskQueue,
  toError,
  type WorkOptions,
} from './port.js';

interface Item {
  name: TaskName;
  payload: unknown;
  attempt: number;
  attempts: number;
  backoffMs: number;
  dedupeId?: string;
}

/**
 * In-process queue with the semantics of the BullMQ adapter: concurrency (in total), retries with
 * exponential backoff on timers, dedupe while queued/running/waiting to retry, final-failure
 * listeners, graceful close. Tasks do not survive the process (the standalone app re-enqueues
 * unfinished jobs at start-up).
 */
export function createMemoryQueue(): TaskQueue {
  const ready: Item[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const dedupe = new Set<string>();
  const listeners: FinalFailureListener[] = [];
  const running = new Set<Promise<void>>();
  const abort = new AbortController();
  let handlers: TaskHandlers | null = null;
  let consumed = new Set<TaskName>();
  let concurrency = 1;
  let closed = false;
  // for counts(): tasks on a timer (delay or retry backoff), running, and failed for good
  const counts = emptyCounts();

  function later(name: TaskName, fn: () => void, ms: number) {
    if (ms <= 0) return fn();
    counts[name].delayed++;
    const t = setTimeout(() => {
      timers.delete(t);
      counts[name].delayed--;
      fn();
    }, ms);
    timers.add(t);
  }

  function pump() {
    if (closed || !handlers) return;
    while (running.size < concurrency) {
      const i = ready.findIndex((it) => consumed.has(it.name));
      if (i < 0) return;
      const [item] = ready.splice(i, 1);
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
      if (item.dedupeId) dedupe.delete(item.dedupeId);
    } catch (e) {
      const err = toError(e);
      if (item.attempt < item.attempts && !closed) {
        later(
          item.name,
          () => {
            ready.push({ ...item, attempt: item.attempt + 1 });
            pump();
          },
          backoffDelay(item.backoffMs, item.attempt),
        );
        return;
      }
      if (item.dedupeId) dedupe.delete(item.dedupeId);
      if (closed && item.attempt < item.attempts) return; // shutting down: not a final failure
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
      if (opts.dedupeId) {
        if (dedupe.has(opts.dedupeId)) return;
        dedupe.add(opts.dedupeId);
      }
      const item: Item = {
        name,
        payload: structuredClone(payload),
        attempt: 1,
        attempts: Math.max(1, opts.attempts ?? 1),
        backoffMs: opts.backoffMs ?? DEFAULT_BACKOFF_MS,
        dedupeId: opts.dedupeId,
      };
      later(
        name,
        () => {
          ready.push(item);
          pump();
        },
        opts.delayMs ?? 0,
      );
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
    async ping() {},
    async counts() {
      const out = structuredClone(counts);
      for (const it of ready) out[it.name].waiting++;
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
