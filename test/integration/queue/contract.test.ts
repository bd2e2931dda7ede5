import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createBullmqQueue, deleteQueueKeys } from '../../../src/queue/bullmq.js';
import { createMemoryQueue } from '../../../src/queue/memory.js';
import type { TaskHandlers, TaskQueue } from '../../../src/queue/port.js';

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
        for (let i = 0; i < 3; i++) await q.enqueue('detect', { jobId: 'n', chunkIndex: i });
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
