import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createBullmqQueue, deleteQueueKeys, STALLED_TOO_OFTEN } from '../../../src/queue/bullmq.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

test("a SIGKILLed worker's task is run again by another worker and completes", async () => {
  const prefix = `wdtest-${randomUUID().slice(0, 8)}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./kill-worker.child.ts', import.meta.url)), REDIS_URL, prefix],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const q = createBullmqQueue({ url: REDIS_URL, prefix, lockDuration: 1000, stalledInterval: 500 });
  try {
    const started = new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /started (.*)\n/.exec(out);
        if (m) resolve(m[1]);
      });
    });
    await q.enqueue('detect', { jobId: 'k', chunkIndex: 7 }, { dedupeId: 'detect:k:7', attempts: 1 });
    assert.equal(await started, JSON.stringify({ jobId: 'k', chunkIndex: 7 }));
    const t0 = Date.now();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const done = new Promise<unknown>((resolve) => {
      void q.work({ detect: async (p) => resolve(p) }, { concurrency: 1 });
    });
    assert.deepEqual(await done, { jobId: 'k', chunkIndex: 7 });
    console.log(`taken up again after ${Date.now() - t0} ms`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await q.close({ timeoutMs: 2000 });
    await deleteQueueKeys(REDIS_URL, prefix);
  }
});

test('a task that stalls more often than maxStalledCount fails for good, and the final-failure listener runs', async () => {
  const prefix = `wdtest-${randomUUID().slice(0, 8)}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./kill-worker.child.ts', import.meta.url)), REDIS_URL, prefix],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // no stall is forgiven: the first one marks the task failed, whichever worker takes it next fails it
  const q = createBullmqQueue({
    url: REDIS_URL,
    prefix,
    lockDuration: 1000,
    stalledInterval: 500,
    maxStalledCount: 0,
  });
  try {
    const started = new Promise<void>((resolve) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('started')) resolve();
      });
    });
    // three attempts: BullMQ's own "last attempt failed" test would not call this final
    await q.enqueue('detect', { jobId: 's', chunkIndex: 2 }, { dedupeId: 'detect:s:2', attempts: 3 });
    await started;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.deepEqual(await q.taskState('detect', 'detect:s:2'), { state: 'active' }, 'the lock still holds');
    await new Promise((r) => setTimeout(r, 1300)); // lockDuration 1000 ms: the lock has expired
    assert.deepEqual(await q.taskState('detect', 'detect:s:2'), { state: 'stalled' });
    const failed = new Promise<unknown[]>((resolve) =>
      q.onFinalFailure((n, p, e) => resolve([n, p, e.message])),
    );
    let ran = 0;
    await q.work(
      {
        detect: async () => {
          ran++;
        },
      },
      { concurrency: 1 },
    );
    const inTime = await Promise.race([
      failed,
      new Promise((r) => setTimeout(() => r('no final failure in 15 s'), 15_000)),
    ]);
    assert.deepEqual(inTime, ['detect', { jobId: 's', chunkIndex: 2 }, STALLED_TOO_OFTEN]);
    assert.equal(ran, 0, 'the stalled task was failed, not run again');
    assert.deepEqual(await q.taskState('detect', 'detect:s:2'), {
      state: 'failed',
      reason: STALLED_TOO_OFTEN,
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await q.close({ timeoutMs: 2000 });
    await deleteQueueKeys(REDIS_URL, prefix);
  }
});
