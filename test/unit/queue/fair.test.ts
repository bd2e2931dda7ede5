import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FairQueue } from '../../../src/queue/fair.js';
import { retryDelayFor, scheduledRetryDelay } from '../../../src/queue/port.js';

const drain = (q: FairQueue<string>) => {
  const out: string[] = [];
  for (let x = q.take(); x !== undefined; x = q.take()) out.push(x);
  return out;
};

describe('FairQueue', () => {
  it('is FIFO for one key', () => {
    const q = new FairQueue<string>();
    for (const x of ['a1', 'a2', 'a3']) q.push('a', x);
    assert.equal(q.size, 3);
    assert.deepEqual(drain(q), ['a1', 'a2', 'a3']);
    assert.equal(q.size, 0);
  });

  it('alternates between keys, a new key going first', () => {
    const q = new FairQueue<string>();
    for (let i = 1; i <= 4; i++) q.push('a', `a${i}`);
    assert.equal(q.take(), 'a1');
    q.push('b', 'b1');
    q.push('b', 'b2');
    q.push('c', 'c1');
    // c arrived last, so it is the newest: new keys join at the front
    assert.deepEqual(drain(q), ['c1', 'b1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('a key served and refilled at once waits its turn (no jumping ahead by chaining)', () => {
    const q = new FairQueue<string>();
    for (let i = 1; i <= 3; i++) q.push('a', `a${i}`);
    q.push('b', 'b1');
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const x = q.take();
      if (x === undefined) break;
      order.push(x);
      if (x.startsWith('b') && Number(x.slice(1)) < 3) q.push('b', `b${Number(x.slice(1)) + 1}`);
    }
    assert.deepEqual(order, ['b1', 'a1', 'b2', 'a2', 'b3', 'a3']);
  });

  it('an idle key leaves the ring after one round and is new again', () => {
    const q = new FairQueue<string>();
    q.push('a', 'a1');
    q.push('a', 'a2');
    q.push('a', 'a3');
    q.push('b', 'b1');
    assert.equal(q.take(), 'b1');
    assert.equal(q.take(), 'a1');
    assert.equal(q.take(), 'a2'); // b's empty lane came round: b left
    q.push('b', 'b2');
    assert.equal(q.take(), 'b2');
  });

  it('skips items the filter refuses without losing their place', () => {
    const q = new FairQueue<string>();
    q.push('a', 'x-a1');
    q.push('a', 'y-a2');
    q.push('b', 'y-b1');
    assert.equal(
      q.take((s) => s.startsWith('x')),
      'x-a1',
    );
    assert.equal(
      q.take((s) => s.startsWith('x')),
      undefined,
    );
    assert.deepEqual(drain(q), ['y-b1', 'y-a2']);
  });
});

describe('retry schedules', () => {
  const schedule = [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000];
  it('follows the schedule, repeating the last delay', () => {
    const mid = () => 0.5;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 9].map((k) => scheduledRetryDelay(schedule, k, 0.2, mid)),
      [...schedule, 21_600_000, 21_600_000],
    );
  });
  it('spreads each delay by at most ±jitter', () => {
    assert.equal(
      scheduledRetryDelay(schedule, 1, 0.2, () => 0),
      8000,
    );
    assert.equal(
      scheduledRetryDelay(schedule, 1, 0.2, () => 1),
      12_000,
    );
    for (let i = 0; i < 200; i++) {
      const d = scheduledRetryDelay(schedule, 3, 0.2);
      assert.ok(d >= 240_000 && d <= 360_000, String(d));
    }
    assert.equal(scheduledRetryDelay([], 1, 0.2), 0);
  });
  it('an adapter falls back to exponential backoff without a schedule', () => {
    assert.equal(retryDelayFor({ backoffMs: 100 }, 3), 400);
    assert.equal(retryDelayFor({ retryDelaysMs: [5, 7] }, 3), 7);
  });
});
