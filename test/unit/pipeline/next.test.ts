import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withJobSlot } from '../../../src/pipeline/job-slots.js';
import {
  CALLBACK_RETRY_DELAYS_MS,
  CALLBACK_RETRY_JITTER,
  createJobScheduler,
  taskOptions,
} from '../../../src/pipeline/next.js';
import { DeferTask, type EnqueueOptions, type TaskName } from '../../../src/queue/port.js';

const retry = { attempts: 3, backoffMs: 500 };
const ctx = { attempt: 1, maxAttempts: 3, signal: new AbortController().signal };

describe('task options (next.ts)', () => {
  it("pipeline tasks: one dedupe id per job (and chunk), TASK_ATTEMPTS, the owner's fairness key", () => {
    assert.deepEqual(taskOptions('detect', { jobId: 'j', chunkIndex: 4 }, retry, 'alice'), {
      dedupeId: 'detect:j:4',
      attempts: 3,
      backoffMs: 500,
      fairnessKey: 'alice',
    });
    assert.deepEqual(taskOptions('process', { jobId: 'j' }, retry, 'alice').dedupeId, 'process:j');
  });

  it('callbacks: retried on the schedule (or CALLBACK_RETRY_DELAYS), with jitter, not fair-queued', () => {
    const o = taskOptions('notify', { jobId: 'j' }, retry, 'alice');
    assert.deepEqual(o, {
      dedupeId: 'notify:j',
      attempts: CALLBACK_RETRY_DELAYS_MS.length + 1,
      retryDelaysMs: CALLBACK_RETRY_DELAYS_MS,
      retryJitter: CALLBACK_RETRY_JITTER,
    });
    const custom = taskOptions('notify', { jobId: 'j' }, { ...retry, callbackDelaysMs: [1000] });
    assert.equal(custom.attempts, 2);
    assert.deepEqual(custom.retryDelaysMs, [1000]);
  });

  it("the scheduler gives every task of a job its owner's key; a callback only when there is a URL", async () => {
    const seen: [TaskName, EnqueueOptions][] = [];
    const scheduler = createJobScheduler({
      queue: {
        enqueue: async (name, _payload, opts = {}) => {
          seen.push([name, opts]);
        },
      },
      retry,
    });
    const job = { id: 'j', userId: 'bob' };
    await scheduler.plan(job);
    const queued = await scheduler.continueJob(job, [
      { chunkIndex: 0, status: 'done' },
      { chunkIndex: 1, status: 'pending' },
    ]);
    assert.equal(queued, 1);
    await scheduler.track(job, 1);
    await scheduler.finalize(job);
    await scheduler.callback('j', null);
    await scheduler.callback('j', 'http://127.0.0.1:9/hook');
    assert.deepEqual(
      seen.map(([n, o]) => [n, o.dedupeId, o.fairnessKey]),
      [
        ['process', 'process:j', 'bob'],
        ['detect', 'detect:j:1', 'bob'],
        // a chunk is done: tracking may have stopped with the process that ran it
        ['track', 'track:j:0', 'bob'],
        ['track', 'track:j:1', 'bob'],
        ['finalize', 'finalize:j', 'bob'],
        ['notify', 'notify:j', undefined],
      ],
    );
  });
});

describe('USER_MAX_ACTIVE_JOBS gate on the process task', () => {
  function jobs(claim: boolean, status: 'queued' | 'canceled') {
    const calls: string[] = [];
    return {
      calls,
      repo: {
        claimJobSlot: async (id: string, limit: number) => {
          calls.push(`claim ${id} ${limit}`);
          return claim;
        },
        status: async () => status,
      },
    };
  }

  it('runs the task once the owner has a slot', async () => {
    const j = jobs(true, 'queued');
    const ran: string[] = [];
    const gated = withJobSlot(async (p) => void ran.push(p.jobId), { jobs: j.repo, limit: 2 });
    await gated({ jobId: 'a' }, ctx);
    assert.deepEqual(j.calls, ['claim a 2']);
    assert.deepEqual(ran, ['a']);
  });

  it('defers (no attempt spent) while the job waits queued; stops when it was canceled meanwhile', async () => {
    const ran: string[] = [];
    const task = async (p: { jobId: string }) => void ran.push(p.jobId);
    const waiting = withJobSlot(task, { jobs: jobs(false, 'queued').repo, limit: 1, pollMs: 250 });
    await assert.rejects(waiting({ jobId: 'a' }, ctx), (e) => e instanceof DeferTask && e.delayMs === 250);
    const canceled = withJobSlot(task, { jobs: jobs(false, 'canceled').repo, limit: 1 });
    await canceled({ jobId: 'b' }, ctx);
    assert.deepEqual(ran, []);
  });

  it('limit 0 is no limit: the task itself, no database read', () => {
    const task = async () => {};
    assert.equal(withJobSlot(task, { jobs: jobs(false, 'queued').repo, limit: 0 }), task);
  });
});
