import { randomUUID } from 'node:crypto';
import { DelayedError, type Job, type JobsOptions, type MinimalJob, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createRedisFairQueue, type FairEntry, type RedisFairQueue } from './fair-redis.js';
import {
  checkHandlers,
  DEFAULT_BACKOFF_MS,
  DeferTask,
  type EnqueueOptions,
  emptyCounts,
  type FinalFailureListener,
  scheduledRetryDelay,
  TASK_NAMES,
  type TaskHandlers,
  type TaskName,
  type TaskPayloads,
  type TaskQueue,
  type TaskState,
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
  /**
   * Fair-queued tasks (those with a fairnessKey) are moved into BullMQ while fewer than this many
   * wait there (default 1): the smaller, the sooner a new user's task gets its turn.
   */
  fairWindow?: number;
  /** a fair-queued task taken but not yet in BullMQ for this long was left by a dead process (default 30 000 ms) */
  fairRecoverMs?: number;
}

/** The backoff type of tasks retried on a schedule (EnqueueOptions.retryDelaysMs). */
const SCHEDULE_BACKOFF = 'wd-schedule';

/** BullMQ's reason for a task that stalled more than maxStalledCount times, and ours. */
const BULL_STALLED_REASON = 'job stalled more than allowable limit';
export const STALLED_TOO_OFTEN =
  'its worker stopped more often than allowed (it may be what crashes the worker)';
const readableReason = (reason: string) => (reason === BULL_STALLED_REASON ? STALLED_TOO_OFTEN : reason);

/** Takes or renews a lease held under `value`, atomically. */
const LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0
`;

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
  const instanceId = randomUUID();
  const fairQueues = new Map<TaskName, RedisFairQueue>();
  const pumping = new Map<TaskName, Promise<void>>();
  const pumpAgain = new Set<TaskName>();
  const timers: NodeJS.Timeout[] = [];
  const window = Math.max(1, opts.fairWindow ?? 1);
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

  function fairFor(name: TaskName): RedisFairQueue {
    let f = fairQueues.get(name);
    if (!f) {
      f = createRedisFairQueue(connection, prefix, name);
      fairQueues.set(name, f);
    }
    return f;
  }

  async function addToBull(name: TaskName, e: FairEntry) {
    await queueFor(name).add(name, e.payload, { ...(e.opts as JobsOptions), jobId: e.id });
  }

  /**
   * Moves fair-queued tasks into BullMQ while fewer than `window` wait there. One pump per name
   * at a time in this process; a request during a pump runs it once more afterwards. Other
   * processes may pump at the same moment: the window can then be overshot by a task or two.
   */
  function pump(name: TaskName): Promise<void> {
    if (closed) return Promise.resolve();
    const running = pumping.get(name);
    if (running) {
      pumpAgain.add(name);
      return running;
    }
    const fair = fairFor(name);
    const q = queueFor(name);
    const p = (async () => {
      do {
        pumpAgain.delete(name);
        for (const e of await fair.stale(opts.fairRecoverMs ?? 30_000)) {
          await addToBull(name, e);
          await fair.done(e);
        }
        let waiting = await q.getWaitingCount();
        while (waiting < window && !closed) {
          const e = await fair.take();
          if (!e) break;
          await addToBull(name, e);
          await fair.done(e);
          waiting++;
        }
      } while (pumpAgain.has(name) && !closed);
    })()
      .catch(() => {}) // Redis down: the next enqueue, task start or tick pumps again
      .finally(() => pumping.delete(name));
    pumping.set(name, p);
    return p;
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
      const jobOpts: JobsOptions = {
        attempts: Math.max(1, o.attempts ?? 1),
        backoff:
          o.retryDelaysMs && o.retryDelaysMs.length > 0
            ? ({
                type: SCHEDULE_BACKOFF,
                delay: o.retryDelaysMs[0],
                delays: [...o.retryDelaysMs],
                jitter: o.retryJitter ?? 0,
              } as JobsOptions['backoff'])
            : { type: 'exponential', delay: o.backoffMs ?? DEFAULT_BACKOFF_MS },
        removeOnComplete: true,
        removeOnFail: { count: opts.keepFailed ?? 1000 },
      };
      if (o.fairnessKey !== undefined && !o.delayMs) {
        const entry: FairEntry = {
          id: jobId ?? `f-${randomUUID()}`,
          payload,
          opts: { ...jobOpts },
          dedupeId: o.dedupeId,
        };
        if (await fairFor(name).push(o.fairnessKey, entry)) await pump(name);
        return;
      }
      await q.add(name, payload, { ...jobOpts, jobId, delay: o.delayMs });
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
          async (job: Job, token?: string) => {
            try {
              await handler(job.data, {
                attempt: job.attemptsMade + 1,
                maxAttempts: job.opts.attempts ?? 1,
                signal: abort.signal,
              });
            } catch (e) {
              if (!(e instanceof DeferTask) || !token) throw e;
              // run again later without counting an attempt (BullMQ's documented pattern)
              await job.moveToDelayed(Date.now() + e.delayMs, token);
              throw new DelayedError();
            }
          },
          {
            connection: wc,
            prefix,
            concurrency: Math.max(1, Math.floor(w.concurrency)),
            lockDuration: opts.lockDuration ?? 30_000,
            stalledInterval: opts.stalledInterval ?? 15_000,
            maxStalledCount: opts.maxStalledCount ?? 2,
            autorun: false,
            settings: {
              backoffStrategy: (attemptsMade: number, type?: string, _err?: Error, job?: MinimalJob) => {
                const b = job?.opts.backoff as { delays?: number[]; jitter?: number } | undefined;
                if (type !== SCHEDULE_BACKOFF || !b?.delays) return 0;
                return scheduledRetryDelay(b.delays, attemptsMade, b.jitter ?? 0);
              },
            },
          },
        );
        worker.on('error', () => {});
        worker.on('failed', (job: Job | undefined, err: Error) => {
          if (!job || closed) return;
          void (async () => {
            // final when the attempts are spent, and also when BullMQ failed it for good with
            // attempts left (a task that stalled more than maxStalledCount times)
            const final =
              job.attemptsMade >= (job.opts.attempts ?? 1) ||
              (await job.getState().catch(() => 'unknown')) === 'failed';
            if (final) await finalFailure(name, job.data, new Error(readableReason(toError(err).message)));
          })();
        });
        // a task left the wait list: feed the next fair-queued one
        worker.on('active', () => void pump(name));
        const tick = setInterval(() => void pump(name), 1000);
        tick.unref();
        timers.push(tick);
        workers.push(worker);
        void worker.run().catch(() => {});
      }
      await Promise.all(workers.map((wk) => wk.waitUntilReady()));
    },

    onFinalFailure(l: FinalFailureListener) {
      listeners.push(l);
    },

    async taskState(name: TaskName, dedupeId: string): Promise<TaskState> {
      if (await fairFor(name).holds(dedupeId)) return { state: 'waiting' };
      const job = await queueFor(name).getJob(bullJobId(dedupeId));
      if (!job) return { state: 'missing' };
      const state = await job.getState();
      switch (state) {
        case 'active': {
          // a live worker renews the task's lock; without one its worker died
          const locked = await connection.exists(`${queueFor(name).toKey(job.id ?? '')}:lock`);
          return { state: locked ? 'active' : 'stalled' };
        }
        case 'delayed':
        case 'completed':
          return { state };
        case 'failed':
          return { state, reason: readableReason(job.failedReason ?? 'failed') };
        case 'unknown':
          return { state: 'missing' };
        default:
          return { state: 'waiting' }; // waiting, prioritized, waiting-children
      }
    },

    async tryLease(key: string, ttlMs: number) {
      const r = await connection.eval(LEASE, 1, `${prefix}:lease:${key}`, instanceId, Math.ceil(ttlMs));
      return r === 1;
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
          const [c, lanes] = await Promise.all([
            queueFor(name).getJobCounts(
              'waiting',
              'prioritized',
              'waiting-children',
              'active',
              'delayed',
              'failed',
            ),
            fairFor(name).size(), // fair-queued tasks not yet fed into BullMQ wait too
          ]);
          out[name] = {
            waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0) + lanes,
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
      for (const t of timers) clearInterval(t);
      abort.abort(new Error('The task queue is closing.'));
      // a pump in flight finishes its step (Redis down: it would wait for ever, so not past 2 s)
      let pumpTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...pumping.values()]),
        new Promise((r) => (pumpTimer = setTimeout(r, 2000))),
      ]);
      clearTimeout(pumpTimer);
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
