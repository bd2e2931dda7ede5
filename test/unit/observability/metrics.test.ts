import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Registry } from 'prom-client';
import type { Detector } from '../../../src/inference/types.js';
import {
  BusyTracker,
  createPipelineMetrics,
  createQueueMetrics,
  timeWaits,
} from '../../../src/observability/metrics.js';
import { createMemoryQueue } from '../../../src/queue/memory.js';
import type { TaskHandlers } from '../../../src/queue/port.js';
import { metricValue } from '../../helpers/metrics.js';

async function sample(registry: Registry, line: string): Promise<number | undefined> {
  return metricValue(await registry.metrics(), line);
}

function fakeClock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('BusyTracker', () => {
  test('busy time counts finished and running tasks; the ratio is per slot over the window', () => {
    const clock = fakeClock();
    const b = new BusyTracker(clock.now, 60_000);
    const endA = b.start();
    clock.advance(10_000);
    const endB = b.start();
    clock.advance(10_000);
    endA(); // A ran 20 s
    assert.equal(b.busyMs(), 30_000); // A 20 s + B 10 s so far
    clock.advance(20_000);
    endB(); // B ran 30 s
    endB(); // a second call changes nothing
    assert.equal(b.busyMs(), 50_000);
    // 40 s elapsed, 2 slots: 50 / 80
    assert.equal(b.ratio(2), 50 / 80);
    assert.equal(b.ratio(1), 1, 'capped at 1');
    assert.equal(b.ratio(0), 0);
  });

  test('old samples leave the window: an idle minute brings the ratio down to 0', () => {
    const clock = fakeClock();
    const b = new BusyTracker(clock.now, 60_000);
    const end = b.start();
    clock.advance(30_000);
    end();
    for (let i = 0; i < 20; i++) {
      clock.advance(5_000);
      b.sample();
    }
    assert.equal(b.ratio(1), 0);
    const end2 = b.start();
    clock.advance(30_000);
    b.sample();
    end2();
    const r = b.ratio(1);
    // the window is 60..65 s long and holds the 30 s of work
    assert.ok(r > 0.45 && r <= 0.5, String(r));
  });
});

describe('timeWaits', () => {
  async function* source(clock: ReturnType<typeof fakeClock>, finished: { value: boolean }) {
    try {
      for (let i = 0; i < 3; i++) {
        clock.advance(100); // decoding a frame takes 100 ms of the consumer's waiting
        yield i;
      }
    } finally {
      finished.value = true;
    }
  }

  test('reports the total wait once the source is exhausted; time in the loop body is not counted', async () => {
    const clock = fakeClock();
    const reports: number[] = [];
    const finished = { value: false };
    const got: number[] = [];
    for await (const x of timeWaits(source(clock, finished), (s) => reports.push(s), clock.now)) {
      got.push(x);
      clock.advance(1000); // the consumer's own work
    }
    assert.deepEqual(got, [0, 1, 2]);
    assert.deepEqual(reports, [0.3]);
    assert.ok(finished.value);
  });

  test('breaking out returns the source (so a decoder stops) and reports nothing', async () => {
    const clock = fakeClock();
    const reports: number[] = [];
    const finished = { value: false };
    for await (const x of timeWaits(source(clock, finished), (s) => reports.push(s), clock.now)) {
      if (x === 1) break;
    }
    assert.ok(finished.value, 'the source ran its finally');
    assert.deepEqual(reports, []);
  });

  test("the source's error reaches the consumer", async () => {
    async function* failing() {
      yield 1;
      throw new Error('ffmpeg died');
    }
    const reports: number[] = [];
    await assert.rejects(async () => {
      for await (const _ of timeWaits(failing(), (s) => reports.push(s))) {
        // consume
      }
    }, /ffmpeg died/);
    assert.deepEqual(reports, []);
  });
});

describe('createPipelineMetrics', () => {
  test('instrumented detectors count frames and time each run, per model; the same wrapper every time', async () => {
    const m = createPipelineMetrics();
    try {
      const detector: Detector = {
        model: { name: 'm1' } as Detector['model'],
        detect: async (frames) => frames.map(() => []),
        close: async () => {},
      };
      const detectors = m.instrumentDetectors({ get: async (_name?: string) => detector });
      const d = await detectors.get('m1');
      assert.equal(await detectors.get('m1'), d);
      const frame = new Uint8Array(3);
      assert.deepEqual(await d.detect([frame, frame, frame], { width: 1, height: 1 }), [[], [], []]);
      await d.detect([frame], { width: 1, height: 1 });
      assert.equal(await sample(m.registry, 'frames_analysed_total{model="m1"}'), 4);
      assert.equal(await sample(m.registry, 'inference_seconds_count{model="m1"}'), 2);
    } finally {
      m.close();
    }
  });

  test('instrumented handlers: slots, busy seconds (running task included) and ratio per queue', async () => {
    const clock = fakeClock();
    const m = createPipelineMetrics({ now: clock.now });
    try {
      let release!: () => void;
      const handlers: TaskHandlers = m.instrumentHandlers(
        {
          detect: async () => {
            clock.advance(4000);
            await new Promise<void>((r) => (release = r));
          },
          process: async () => {},
        },
        { concurrency: 2, names: ['detect'] },
      );
      assert.equal(await sample(m.registry, 'worker_slots{queue="detect"}'), 2);
      assert.equal(await sample(m.registry, 'worker_slots{queue="process"}'), undefined, 'not consumed');
      const ctx = { attempt: 1, maxAttempts: 1, signal: new AbortController().signal };
      const running = handlers.detect!({ jobId: 'j', chunkIndex: 0 }, ctx);
      assert.equal(await sample(m.registry, 'worker_busy_seconds_total{queue="detect"}'), 4);
      assert.equal(await sample(m.registry, 'worker_running_tasks{queue="detect"}'), 1);
      clock.advance(4000);
      release();
      await running;
      assert.equal(await sample(m.registry, 'worker_busy_seconds_total{queue="detect"}'), 8);
      assert.equal(await sample(m.registry, 'worker_running_tasks{queue="detect"}'), 0);
      // 8 s busy out of 8 s on 2 slots
      assert.equal(await sample(m.registry, 'worker_busy_ratio{queue="detect"}'), 0.5);
    } finally {
      m.close();
    }
  });

  test('timeDecode observes decode_seconds once per exhausted chunk', async () => {
    const m = createPipelineMetrics();
    try {
      async function* frames() {
        yield 1;
        yield 2;
      }
      for await (const _ of m.timeDecode(frames())) {
        // consume
      }
      assert.equal(await sample(m.registry, 'decode_seconds_count'), 1);
    } finally {
      m.close();
    }
  });
});

describe('createQueueMetrics', () => {
  test('queue_tasks reports waiting, active and failed tasks per queue (memory queue)', async () => {
    const q = createMemoryQueue();
    const registry = createQueueMetrics(q);
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    await q.work(
      {
        detect: async () => {
          started();
          await blocked;
        },
        finalize: async () => {
          throw new Error('no');
        },
      },
      { concurrency: 1 },
    );
    try {
      await q.enqueue('finalize', { jobId: 'j' });
      for (let i = 0; i < 100 && (await q.counts()).finalize.failed === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(await sample(registry, 'queue_tasks{queue="finalize",state="failed"}'), 1);
      for (let i = 0; i < 3; i++) await q.enqueue('detect', { jobId: 'j', chunkIndex: i });
      await running;
      assert.equal(await sample(registry, 'queue_tasks{queue="detect",state="active"}'), 1);
      assert.equal(await sample(registry, 'queue_tasks{queue="detect",state="waiting"}'), 2);
      assert.equal(await sample(registry, 'queue_tasks{queue="notify",state="waiting"}'), 0);
    } finally {
      release();
      await q.close({ timeoutMs: 2000 });
    }
  });

  test('a queue that does not answer leaves the gauge empty instead of failing the scrape', async () => {
    const registry = createQueueMetrics({ counts: () => Promise.reject(new Error('redis is down')) });
    const text = await registry.metrics();
    assert.match(text, /# TYPE queue_tasks gauge/);
    assert.doesNotMatch(text, /^queue_tasks\{/m);
  });
});
