import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { bullJobId, createBullmqQueue, deleteQueueKeys } from '../../../src/queue/bullmq.js';
import { createRedisFairQueue } from '../../../src/queue/fair-redis.js';

/** What the BullMQ adapter's fair feeder and leases do across instances sharing one Redis prefix. */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const prefixes: string[] = [];
const newPrefix = () => {
  const p = `wdtest-${randomUUID().slice(0, 8)}`;
  prefixes.push(p);
  return p;
};
after(async () => {
  for (const p of prefixes) await deleteQueueKeys(REDIS_URL, p);
});

test('a lease has one holder across instances until it expires', async () => {
  const prefix = newPrefix();
  const a = createBullmqQueue({ url: REDIS_URL, prefix });
  const b = createBullmqQueue({ url: REDIS_URL, prefix });
  try {
    assert.equal(await a.tryLease('watchdog', 400), true);
    assert.equal(await b.tryLease('watchdog', 400), false);
    assert.equal(await a.tryLease('watchdog', 400), true, 'the holder renews');
    await sleep(600);
    assert.equal(await b.tryLease('watchdog', 400), true, 'taken over once expired');
    assert.equal(await a.tryLease('watchdog', 400), false);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a fair-queued task taken by a process that died before handing it to BullMQ still runs', async () => {
  const prefix = newPrefix();
  const redis = new Redis(REDIS_URL);
  // what a process does up to its death: push, take (parked as moving), no add, no done
  const fair = createRedisFairQueue(redis, prefix, 'detect');
  const id = bullJobId('detect:lost:0');
  await fair.push('u', {
    id,
    payload: { jobId: 'lost', chunkIndex: 0 },
    opts: { attempts: 1 },
    dedupeId: 'detect:lost:0',
  });
  assert.ok(await fair.take());
  assert.equal(await fair.holds('detect:lost:0'), true, 'still held: a second enqueue would be a duplicate');
  redis.disconnect();
  const q = createBullmqQueue({ url: REDIS_URL, prefix, fairRecoverMs: 200 });
  try {
    const ran = new Promise<unknown>((resolve) => {
      void q.work({ detect: async (p) => resolve(p) }, { concurrency: 1 });
    });
    const got = await Promise.race([ran, sleep(10_000).then(() => 'not recovered in 10 s')]);
    assert.deepEqual(got, { jobId: 'lost', chunkIndex: 0 });
  } finally {
    await q.close();
  }
});

test('dedupe covers tasks still waiting in the fair lanes; two instances share one order', async () => {
  const prefix = newPrefix();
  const producer = createBullmqQueue({ url: REDIS_URL, prefix });
  const consumer = createBullmqQueue({ url: REDIS_URL, prefix });
  try {
    // nobody works yet: the window (1) fills, the rest wait in the lanes
    for (let i = 0; i < 5; i++)
      await producer.enqueue(
        'detect',
        { jobId: 'A', chunkIndex: i },
        { fairnessKey: 'a', dedupeId: `A:${i}` },
      );
    await producer.enqueue('detect', { jobId: 'A', chunkIndex: 3 }, { fairnessKey: 'a', dedupeId: 'A:3' });
    await producer.enqueue('detect', { jobId: 'B', chunkIndex: 0 }, { fairnessKey: 'b', dedupeId: 'B:0' });
    assert.deepEqual(await producer.taskState('detect', 'A:3'), { state: 'waiting' });
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      void consumer.work(
        {
          detect: async (p) => {
            order.push(`${p.jobId}${p.chunkIndex}`);
            await sleep(20);
            if (order.length === 6) resolve();
          },
        },
        { concurrency: 1 },
      );
    });
    await Promise.race([done, sleep(15_000)]);
    await sleep(300); // nothing more: A:3 ran once
    assert.deepEqual(order, ['A0', 'B0', 'A1', 'A2', 'A3', 'A4']);
  } finally {
    await producer.close();
    await consumer.close();
  }
});
