import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  checkHandlers,
  DEFAULT_BACKOFF_MS,
  type EnqueueOptions,
  emptyCounts,
  type FinalFailureListener,
  TASK_NAMES,
  type TaskHandlers,
  type TaskName,
  type TaskPayloads,
  type TaskQueue,
  toError,
  type WorkOptions,
} from './port.js';

export interface BullmqQueueOptions {
  /** redis://host:port/db */
  url: string;
  /** key prefix in Redis (default "wd"); tests use a unique one per run */
  prefix?: string;
  /**
   * How long a worker's lock on a running task lasts; the worker renews it every half of it. A task
   * whose worker died (SIGKILL, power cut) is taken up again by another worker after at most
   * lockDuration + stalledInterval. Default 30 000 ms.
   */
  lockDuration?: number;
  /** how often workers look for stalled tasks; default 15 000 ms */
  stalledInterval?: number;
  /** times a task may stall before it fails; default 2 */
  maxStalledCount?: number;
  /** failed tasks kept in Redis for inspection; default 1000 per task name */
  keepFailed?: number;
}

export interface BullmqTaskQueue extends TaskQueue {
  /** bytes of JSON payload this process has put into Redis (payloads are ids only: tiny) */
  payloadBytes(): number;
}

/** BullMQ job ids cannot contain ":" nor look like integers: encode the dedupe id. */
export function bullJobId(dedupeId: string): string {
  return `d-${encodeURIComponent(dedupeId)}`;
}

/**
 * BullMQ adapter: one BullMQ queue per task name, a Worker per consumed name. ioredis is set up to
 * wait for Redis rather than fail (maxRetriesPerRequest null, reconnect every 0.2..2 s), so
 * workers ride out a Redis restart of a few seconds.
 */
export function createBullmqQueue(opts: BullmqQueueOptions): BullmqTaskQueue {
  const prefix = opts.prefix ?? 'wd';
  const redisOpts = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
  const connection = new Redis(opts.url, redisOpts);
  connection.on('error', () => {}); // reconnects on its own; errors surface through commands
  const queues = new Map<TaskName, Queue>();
  const workers: Worker[] = [];
  const workerConnections: Redis[] = [];
  const listeners: FinalFailureListener[] = [];
  const abort = new AbortController();
  let bytes = 0;
  let closed = false;
  let working = false;

  function queueFor(name: TaskName): Queue {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection, prefix });
      q.on('error', () => {});
      queues.set(name, q);
    }
    return q;
  }

  async function finalFailure(name: TaskName, payload: unknown, err: Error) {
    for (const l of listeners) {
      try {
        await l(name, payload as TaskPayloads[TaskName], err);
      } catch {
        // a failing listener must not break the worker
      }
    }
  }

  return {
    async enqueue<N extends TaskName>(name: N, payload: TaskPayloads[N], o: EnqueueOptions = {}) {
      if (closed) throw new Error('The task queue is closed.');
      const q = queueFor(name);
      const jobId = o.dedupeId ? bullJobId(o.dedupeId) : undefined;
      if (jobId) {
        // a finished task with the same id would block the new one: dedupe only while queued or running
        const old = await q.getJob(jobId);
        if (old) {
          const state = await old.getState();
          if (state !== 'failed' && state !== 'completed') return;
          await old.remove().catch(() => {});
        }
      }
      bytes += Buffer.byteLength(JSON.stringify(payload));
      await q.add(name, payload, {
        jobId,
        attempts: Math.max(1, o.attempts ?? 1),
        backoff: { type: 'exponential', delay: o.backoffMs ?? DEFAULT_BACKOFF_MS },
        delay: o.delayMs,
        removeOnComplete: true,
        removeOnFail: { count: opts.keepFailed ?? 1000 },
      });
    },

    async work(handlers: TaskHandlers, w: WorkOptions) {
      const names = checkHandlers(handlers, w.names);
      if (working) throw new Error('work() was already called on this queue.');
      working = true;
      for (const name of names) {
        const handler = handlers[name] as (p: unknown, c: unknown) => Promise<void>;
        const wc = new Redis(opts.url, redisOpts);
        wc.on('error', () => {});
        workerConnections.push(wc);
        const worker = new Worker(
          name,
          async (job: Job) => {
            await handler(job.data, {
              attempt: job.attemptsMade + 1,
              maxAttempts: job.opts.attempts ?? 1,
              signal: abort.signal,
            });
          },
          {
            connection: wc,
            prefix,
            concurrency: Math.max(1, Math.floor(w.concurrency)),
            lockDuration: opts.lockDuration ?? 30_000,
            stalledInterval: opts.stalledInterval ?? 15_000,
            maxStalledCount: opts.maxStalledCount ?? 2,
            autorun: false,
          },
        );
        worker.on('error', () => {});
        worker.on('failed', (job: Job | undefined, err: Error) => {
          if (!job || closed) return;
          if (job.attemptsMade >= (job.opts.attempts ?? 1)) void finalFailure(name, job.data, toError(err));
        });
        workers.push(worker);
        void worker.run().catch(() => {});
      }
      await Promise.all(workers.map((wk) => wk.waitUntilReady()));
    },

    onFinalFailure(l: FinalFailureListener) {
      listeners.push(l);
    },

    async ping() {
      const res = await Promise.race([
        connection.ping(),
        new Promise<never>((_, rej) =>
          setTimeout(() => rej(new Error('Redis did not answer within 2 s.')), 2000),
        ),
      ]);
      if (res !== 'PONG') throw new Error('Redis did not answer PONG.');
    },

    async counts() {
      const out = emptyCounts();
      await Promise.all(
        TASK_NAMES.map(async (name) => {
          const c = await queueFor(name).getJobCounts(
            'waiting',
            'prioritized',
            'waiting-children',
            'active',
            'delayed',
            'failed',
          );
          out[name] = {
            waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0),
            active: c.active ?? 0,
            delayed: c.delayed ?? 0,
            failed: c.failed ?? 0,
          };
        }),
      );
      return out;
    },

    async close(o: { timeoutMs?: number } = {}) {
      if (closed) return;
      closed = true;
      abort.abort(new Error('The task queue is closing.'));
      let timer: NodeJS.Timeout | undefined;
      const graceful = Promise.all(workers.map((wk) => wk.close()));
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), o.timeoutMs ?? 30_000))),
      ]);
      clearTimeout(timer);
      if (timedOut) await Promise.all(workers.map((wk) => wk.close(true))).catch(() => {});
      await Promise.all([...queues.values()].map((q) => q.close())).catch(() => {});
      for (const c of [...workerConnections, connection]) c.disconnect();
    },

    payloadBytes: () => bytes,
  };
}

/** Deletes every key under a prefix (tests). */
export async function deleteQueueKeys(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

export { TASK_NAMES };
