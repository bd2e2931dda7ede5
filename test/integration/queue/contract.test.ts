import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createBullmqQueue, deleteQueueKeys } from '../../../src/queue/bullmq.js';
import { createMemoryQueue } from '../../../src/queue/memory.js';
import { DeferTask, type TaskHandlers, type TaskQueue } from '../../../src/queue/port.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const prefixes: string[] = [];
const adapters: { name: string; make: () => TaskQueue }[] = [
  { name: 'memory', make: () => createMemoryQueue() },
  {
    name: 'bullmq',
    make: () => {
      const prefix = `wdtest-${randomUUID().slice(0, 8)}`;
      prefixes.push(prefix);
      return createBullmqQueue({ url: REDIS_URL, prefix, lockDuration: 2000, stalledInterval: 1000 });
    },
  },
];
after(async () => {
  for (const p of prefixes) await deleteQueueKeys(REDIS_URL, p);
});

for (const { name, make } of adapters) {
  describe(`TaskQueue contract: ${name}`, () => {
    test('enqueue -> handled with the right payload and context', async () => {
      const q = make();
      const got = deferred<unknown[]>();
      await q.work(
        { detect: async (p, ctx) => got.resolve([p, ctx.attempt, ctx.maxAttempts]) },
        { concurrency: 1 },
      );
      await q.enqueue('detect', { jobId: 'j1', chunkIndex: 3 }, { attempts: 2 });
      assert.deepEqual(await got.promise, [{ jobId: 'j1', chunkIndex: 3 }, 1, 2]);
      await q.ping();
      await q.close();
    });

    test('concurrency is respected', async () => {
      const q = make();
      let now = 0;
      let max = 0;
      let done = 0;
      const all = deferred();
      await q.work(
        {
          detect: async () => {
            max = Math.max(max, ++now);
            await sleep(150);
            now--;
            if (++done === 6) all.resolve();
          },
        },
        { concurrency: 2 },
      );
      for (let i = 0; i < 6; i++) await q.enqueue('detect', { jobId: 'j', chunkIndex: i });
      await all.promise;
      assert.equal(max, 2);
      await q.close();
    });

    test('a throwing handler is retried with exponential backoff, then succeeds', async () => {
      const q = make();
      const times: number[] = [];
      const ok = deferred();
      const failures: unknown[] = [];
      q.onFinalFailure((n) => {
        failures.push(n);
      });
      await q.work(
        {
          process: async (_p, ctx) => {
            times.push(Date.now());
            if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`);
            ok.resolve();
          },
        },
        { concurrency: 1 },
      );
      await q.enqueue('process', { jobId: 'r' }, { attempts: 3, backoffMs: 200 });
      await ok.promise;
      assert.equal(times.length, 3);
      assert.ok(times[1] - times[0] >= 190, `first retry after ${times[1] - times[0]} ms`);
      assert.ok(times[2] - times[1] >= 390, `second retry after ${times[2] - times[1]} ms`);
      await sleep(100);
      assert.deepEqual(failures, []);
      await q.close();
    });

    test('final failure after N attempts calls the listener once', async () => {
      const q = make();
      let calls = 0;
      const failed = deferred<unknown[]>();
      const seen: unknown[] = [];
      q.onFinalFailure((n, p, e) => {
        seen.push([n, p, e.message]);
        failed.resolve([n, p, e.message]);
      });
      await q.work(
        {
          finalize: async () => {
            calls++;
            throw new Error('always');
          },
        },
        { concurrency: 1 },
      );
      await q.enqueue('finalize', { jobId: 'f' }, { attempts: 2, backoffMs: 50 });
      assert.deepEqual(await failed.promise, ['finalize', { jobId: 'f' }, 'always']);
      await sleep(300);
      assert.equal(calls, 2);
      assert.equal(seen.length, 1);
      await q.close();
    });

    test('a task whose dedupeId is queued or running is not added twice', async () => {
      const q = make();
      const release = deferred();
      const started = deferred();
      let runs = 0;
      await q.work(
        {
          process: async () => {
            runs++;
            started.resolve();
            await release.promise;
          },
        },
        { concurrency: 2 },
      );
      await q.enqueue('process', { jobId: 'd' }, { dedupeId: 'process:d' });
      await q.enqueue('process', { jobId: 'd' }, { dedupeId: 'process:d' }); // queued
      await started.promise;
      await q.enqueue('process', { jobId: 'd' }, { dedupeId: 'process:d' }); // running
      await sleep(300);
      assert.equal(runs, 1);
      release.resolve();
      await sleep(300);
      // finished: the same id may run again
      const again = deferred();
      await q.enqueue('process', { jobId: 'd' }, { dedupeId: 'process:d' });
      void again;
      await sleep(500);
      assert.equal(runs, 2);
      await q.close();
    });

    test('close aborts the signal and waits for the running handler', async () => {
      const q = make();
      const started = deferred();
      let finished = false;
      let aborted = false;
      await q.work(
        {
          detect: async (_p, ctx) => {
            started.resolve();
            await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
            aborted = true;
            await sleep(200); // cleanup after the abort
            finished = true;
          },
        },
        { concurrency: 1 },
      );
      await q.enqueue('detect', { jobId: 'c', chunkIndex: 0 });
      await started.promise;
      await q.close({ timeoutMs: 5000 });
      assert.ok(aborted, 'signal aborted');
      assert.ok(finished, 'close waited for the handler');
    });

    test('fair share: one task of user B runs within ~2 tasks of being enqueued behind 20 of user A', async () => {
      const q = make();
      const order: string[] = [];
      const allDone = deferred();
      let bEnqueuedAt = -1; // how many tasks had started when B's enqueue returned
      await q.work(
        {
          detect: async (p) => {
            order.push(`${p.jobId}:${p.chunkIndex}`);
            await sleep(40);
            if (order.length === 21) allDone.resolve();
          },
        },
        { concurrency: 1 },
      );
      for (let i = 0; i < 20; i++)
        await q.enqueue(
          'detect',
          { jobId: 'A', chunkIndex: i },
          { fairnessKey: 'user-a', dedupeId: `A:${i}` },
        );
      await sleep(100); // A's tasks are flowing
      await q.enqueue('detect', { jobId: 'B', chunkIndex: 0 }, { fairnessKey: 'user-b', dedupeId: 'B:0' });
      bEnqueuedAt = order.length;
      await allDone.promise;
      const position = order.indexOf('B:0') - bEnqueuedAt + 1; // 1 = the next task to start
      assert.ok(bEnqueuedAt < 10, `A still had most of its tasks waiting (${bEnqueuedAt} started)`);
      assert.ok(
        position >= 1 && position <= 2,
        `B ran as task ${position} after its enqueue: ${order.join(' ')}`,
      );
      // A's own tasks kept their order
      const a = order.filter((t) => t.startsWith('A:'));
      assert.deepEqual(
        a,
        Array.from({ length: 20 }, (_, i) => `A:${i}`),
      );
      await q.close();
    });

    test('fair share: two users with many tasks alternate; a chain that re-enqueues does not jump ahead', async () => {
      const q = make();
      const order: string[] = [];
      const allDone = deferred();
      await q.work(
        {
          detect: async (p) => {
            order.push(p.jobId);
            await sleep(20);
            // B's tasks each enqueue B's next one (like process → detect → finalize)
            if (p.jobId === 'B' && p.chunkIndex < 5)
              await q.enqueue('detect', { jobId: 'B', chunkIndex: p.chunkIndex + 1 }, { fairnessKey: 'b' });
            if (order.length === 16) allDone.resolve();
          },
        },
        { concurrency: 1 },
      );
      for (let i = 0; i < 10; i++)
        await q.enqueue('detect', { jobId: 'A', chunkIndex: i }, { fairnessKey: 'a' });
      await q.enqueue('detect', { jobId: 'B', chunkIndex: 0 }, { fairnessKey: 'b' });
      const startedBeforeB = order.length;
      await allDone.promise;
      // once B started, no run of more than two B tasks in a row while A still had work
      const firstB = order.indexOf('B');
      const lastA = order.lastIndexOf('A');
      const window = order.slice(firstB, lastA).join('');
      assert.doesNotMatch(window, /BBB/, order.join(''));
      assert.ok(startedBeforeB < 8, `A still had work when B came (${startedBeforeB} started)`);
      assert.ok(firstB - startedBeforeB <= 1, `B started as task ${firstB + 1}: ${order.join('')}`);
      await q.close();
    });

    test("a user's next task of another name does not wait for a turn among everybody's detect tasks", async () => {
      const q = make();
      const order: string[] = [];
      const done = deferred();
      await q.work(
        {
          detect: async (p) => {
            order.push(`${p.jobId}:detect`);
            // like the pipeline: B's last detect enqueues B's finalize
            if (p.jobId === 'B')
              await q.enqueue('finalize', { jobId: 'B' }, { fairnessKey: 'b', dedupeId: 'finalize:B' });
            await sleep(40);
          },
          finalize: async () => {
            order.push('B:finalize');
            done.resolve();
          },
        },
        { concurrency: 1 },
      );
      for (let i = 0; i < 10; i++)
        await q.enqueue('detect', { jobId: 'A', chunkIndex: i }, { fairnessKey: 'a', dedupeId: `A:${i}` });
      await sleep(60);
      await q.enqueue('detect', { jobId: 'B', chunkIndex: 0 }, { fairnessKey: 'b', dedupeId: 'B:0' });
      await done.promise;
      const between = order.indexOf('B:finalize') - order.indexOf('B:detect') - 1;
      assert.equal(between, 0, `tasks between B's detect and its finalize: ${order.join(' ')}`);
      await q.close();
    });

    test('a deferred task runs again later without spending an attempt', async () => {
      const q = make();
      const seen: number[] = [];
      const done = deferred<number>();
      const failures: unknown[] = [];
      q.onFinalFailure((n) => {
        failures.push(n);
      });
      let calls = 0;
      await q.work(
        {
          process: async (_p, ctx) => {
            seen.push(ctx.attempt);
            if (++calls < 3) throw new DeferTask(100);
            done.resolve(Date.now());
          },
        },
        { concurrency: 1 },
      );
      const t0 = Date.now();
      await q.enqueue('process', { jobId: 'w' }, { attempts: 1, dedupeId: 'process:w', fairnessKey: 'u' });
      const t1 = await done.promise;
      assert.deepEqual(seen, [1, 1, 1]);
      assert.ok(t1 - t0 >= 190, `ran again after the delays (${t1 - t0} ms)`);
      assert.deepEqual(failures, []);
      await q.close();
    });

    test('retries follow retryDelaysMs when given', async () => {
      const q = make();
      const times: number[] = [];
      const ok = deferred();
      await q.work(
        {
          notify: async (_p, ctx) => {
            times.push(Date.now());
            if (ctx.attempt < 3) throw new Error('receiver down');
            ok.resolve();
          },
        },
        { concurrency: 1 },
      );
      await q.enqueue('notify', { jobId: 'n' }, { attempts: 3, retryDelaysMs: [100, 600], backoffMs: 5 });
      await ok.promise;
      const gaps = [times[1] - times[0], times[2] - times[1]];
      assert.ok(gaps[0] >= 90 && gaps[0] < 550, `first retry after ${gaps[0]} ms`);
      assert.ok(gaps[1] >= 590, `second retry after ${gaps[1]} ms`);
      await q.close();
    });

    test('taskState tells where a task is, and a lease has one holder', async () => {
      const q = make();
      const release = deferred();
      const started = deferred();
      await q.work(
        {
          finalize: async () => {
            started.resolve();
            await release.promise;
          },
        },
        { concurrency: 1 },
      );
      assert.deepEqual(await q.taskState('finalize', 'finalize:s'), { state: 'missing' });
      await q.enqueue('finalize', { jobId: 's' }, { dedupeId: 'finalize:s', fairnessKey: 'u' });
      await started.promise;
      assert.deepEqual(await q.taskState('finalize', 'finalize:s'), { state: 'active' });
      await q.enqueue('finalize', { jobId: 's2' }, { dedupeId: 'finalize:s2', delayMs: 60_000 });
      assert.deepEqual(await q.taskState('finalize', 'finalize:s2'), { state: 'delayed' });
      release.resolve();
      await sleep(300);
      assert.ok(['missing', 'completed'].includes((await q.taskState('finalize', 'finalize:s')).state));
      assert.equal(await q.tryLease('contract', 5000), true);
      assert.equal(await q.tryLease('contract', 5000), true, 'the holder renews');
      await q.close({ timeoutMs: 1000 });
    });

    test('counts() reports waiting and active tasks per name', async () => {
      const q = make();
      const started = deferred();
      const release = deferred();
      await q.work(
        {
          detect: async () => {
            started.resolve();
            await release.promise;
          },
        },
        { concurrency: 1 },
      );
      try {
        // fair-queued: BullMQ keeps most of them in the per-user lanes, and they count as waiting
        for (let i = 0; i < 3; i++)
          await q.enqueue('detect', { jobId: 'n', chunkIndex: i }, { fairnessKey: 'u' });
        await q.enqueue('notify', { jobId: 'n' }, { delayMs: 60_000 });
        await started.promise;
        const c = await q.counts();
        assert.deepEqual(c.detect, { waiting: 2, active: 1, delayed: 0, failed: 0 });
        assert.deepEqual(c.notify, { waiting: 0, active: 0, delayed: 1, failed: 0 });
        assert.deepEqual(c.process, { waiting: 0, active: 0, delayed: 0, failed: 0 });
      } finally {
        release.resolve();
        await q.close({ timeoutMs: 5000 });
      }
    });

    test('a handler typo fails fast at start-up', async () => {
      const q = make();
      const bad = { detcet: async () => {} } as unknown as TaskHandlers;
      await assert.rejects(q.work(bad, { concurrency: 1 }), /Unknown task handler "detcet"/);
      await assert.rejects(
        q.work({ process: async () => {} }, { concurrency: 1, names: ['detect'] }),
        /No handler/,
      );
      await q.close();
    });
  });
}
