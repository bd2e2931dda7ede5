import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Detector } from '../inference/types.js';
import { TASK_NAMES, type TaskHandlers, type TaskName, type TaskQueue } from '../queue/port.js';

/**
 * The pipeline's Prometheus metrics: what an autoscaler and an operator need to size the workers.
 *
 *   queue_tasks{queue,state}            tasks waiting / active / delayed / failed, read from the
 *                                       queue at scrape time (global with BullMQ: every process
 *                                       sees the same Redis; the API exposes it)
 *   frames_analysed_total{model}        frames run through the detector by this process
 *   inference_seconds{model}            one detector run (a batch of frames), histogram
 *   decode_seconds                      per chunk: the time the detect task waited for decoded
 *                                       frames (decoding runs ahead of inference, so this is the
 *                                       decode time not hidden behind it), histogram
 *   worker_busy_seconds_total{queue}    handler-seconds spent in tasks (includes running ones)
 *   worker_slots{queue}                 tasks this process runs at once per queue
 *   worker_running_tasks{queue}         tasks running in this process now
 *   worker_busy_ratio{queue}            busy share of the slots over the last minute (0..1)
 *
 * Everything lives in registries made here (no global registry), so tests can build many
 * runtimes in one process. The pipeline registry has no process metrics: the API's /metrics
 * (which has them) merges it, and a worker's metrics server adds them (see server.ts).
 */

export const BUSY_WINDOW_MS = 60_000;
const SAMPLE_EVERY_MS = 5_000;

export interface PipelineMetrics {
  /** the metrics below, for merging into a /metrics endpoint */
  readonly registry: Registry;
  /** the same detectors, each detect() timed and its frames counted */
  instrumentDetectors<D extends { get(name?: string): Promise<Detector> }>(detectors: D): D;
  /** the same handlers, their running time counted towards the busy ratio of their queue */
  instrumentHandlers<H extends TaskHandlers>(
    handlers: H,
    opts: { concurrency: number; names?: TaskName[] },
  ): H;
  /** the same frames; the time spent waiting for them is observed as decode_seconds when they end */
  timeDecode<T>(frames: AsyncIterable<T>): AsyncIterable<T>;
  /** stops the busy-ratio sampler */
  close(): void;
}

export interface PipelineMetricsOptions {
  /** milliseconds clock (tests) */
  now?: () => number;
}

/** Busy time of one queue's slots, with samples for a sliding-window ratio. */
export class BusyTracker {
  private finishedMs = 0;
  private readonly running = new Map<number, number>();
  private nextId = 0;
  private samples: { at: number; busyMs: number }[] = [];

  constructor(
    private readonly now: () => number,
    readonly windowMs = BUSY_WINDOW_MS,
  ) {
    this.samples.push({ at: now(), busyMs: 0 });
  }

  /** marks one slot busy; call the returned function when the task ends */
  start(): () => void {
    const id = this.nextId++;
    this.running.set(id, this.now());
    return () => {
      const began = this.running.get(id);
      if (began === undefined) return;
      this.running.delete(id);
      this.finishedMs += this.now() - began;
    };
  }

  /** tasks running now */
  get runningCount(): number {
    return this.running.size;
  }

  /** slot-milliseconds spent in tasks so far, running ones included */
  busyMs(at = this.now()): number {
    let ms = this.finishedMs;
    for (const began of this.running.values()) ms += at - began;
    return ms;
  }

  /** records a sample (called every few seconds); keeps one window's worth */
  sample(): void {
    const at = this.now();
    this.samples.push({ at, busyMs: this.busyMs(at) });
    const from = at - this.windowMs;
    // keep the newest sample at or before the window's start, drop older ones
    while (this.samples.length > 2 && this.samples[1].at <= from) this.samples.shift();
  }

  /** busy share of `slots` slots since the oldest kept sample (about one window), 0..1 */
  ratio(slots: number): number {
    const at = this.now();
    const oldest = this.samples[0];
    const span = at - oldest.at;
    if (span <= 0 || slots <= 0) return 0;
    return Math.min(1, Math.max(0, (this.busyMs(at) - oldest.busyMs) / (span * slots)));
  }
}

export function createPipelineMetrics(opts: PipelineMetricsOptions = {}): PipelineMetrics {
  const now = opts.now ?? (() => performance.now());
  const registry = new Registry();
  const frames = new Counter({
    name: 'frames_analysed_total',
    help: 'Frames run through the detector by this process, by model',
    labelNames: ['model'] as const,
    registers: [registry],
  });
  const inference = new Histogram({
    name: 'inference_seconds',
    help: 'Duration of one detector run (a batch of frames), by model',
    labelNames: ['model'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const decode = new Histogram({
    name: 'decode_seconds',
    help: 'Per chunk: seconds the detect task waited for decoded frames (decode time not hidden behind inference)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });

  const trackers = new Map<TaskName, { tracker: BusyTracker; slots: number; counted: number }>();
  const slotsGauge = new Gauge({
    name: 'worker_slots',
    help: 'Tasks this process runs at once, by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'worker_running_tasks',
    help: 'Tasks running in this process now, by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    collect() {
      for (const [queue, t] of trackers) this.set({ queue }, t.tracker.runningCount);
    },
  });
  new Counter({
    name: 'worker_busy_seconds_total',
    help: 'Seconds spent running tasks (summed over slots, running tasks included), by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    collect() {
      for (const [queue, t] of trackers) {
        const ms = t.tracker.busyMs();
        if (ms > t.counted) this.inc({ queue }, (ms - t.counted) / 1000);
        t.counted = Math.max(t.counted, ms);
      }
    },
  });
  new Gauge({
    name: 'worker_busy_ratio',
    help: `Share of this process's slots busy with tasks over the last ${BUSY_WINDOW_MS / 1000} s, by queue (0..1)`,
    labelNames: ['queue'] as const,
    registers: [registry],
    collect() {
      for (const [queue, t] of trackers) this.set({ queue }, t.tracker.ratio(t.slots));
    },
  });
  const sampler = setInterval(() => {
    for (const t of trackers.values()) t.tracker.sample();
  }, SAMPLE_EVERY_MS);
  sampler.unref();

  const wrapped = new WeakMap<Detector, Detector>();
  function instrumentDetector(d: Detector): Detector {
    let w = wrapped.get(d);
    if (!w) {
      const model = d.model.name;
      w = {
        model: d.model,
        async detect(batch, original, options) {
          const end = inference.startTimer({ model });
          const out = await d.detect(batch, original, options);
          end();
          frames.inc({ model }, batch.length);
          return out;
        },
        close: () => d.close(),
      };
      wrapped.set(d, w);
    }
    return w;
  }

  return {
    registry,
    instrumentDetectors(detectors) {
      return { ...detectors, get: async (name?: string) => instrumentDetector(await detectors.get(name)) };
    },
    instrumentHandlers(handlers, { concurrency, names }) {
      const out: TaskHandlers = { ...handlers };
      const consumed = names ?? (Object.keys(handlers) as TaskName[]);
      for (const name of consumed) {
        const handler = handlers[name] as ((p: unknown, c: unknown) => Promise<void>) | undefined;
        if (!TASK_NAMES.includes(name) || typeof handler !== 'function') continue; // the queue refuses it
        const t = { tracker: new BusyTracker(now), slots: concurrency, counted: 0 };
        trackers.set(name, t);
        slotsGauge.set({ queue: name }, concurrency);
        (out as Record<string, unknown>)[name] = async (payload: unknown, ctx: unknown) => {
          const done = t.tracker.start();
          try {
            await handler(payload, ctx);
          } finally {
            done();
          }
        };
      }
      return out as typeof handlers;
    },
    timeDecode<T>(source: AsyncIterable<T>): AsyncIterable<T> {
      return timeWaits(source, (seconds) => decode.observe(seconds), now);
    },
    close() {
      clearInterval(sampler);
    },
  };
}

/**
 * Yields `source`'s items, adding up the time spent waiting for each; when the source is
 * exhausted, reports the total in seconds (a chunk abandoned half-way is not reported). Breaking
 * out of the loop returns the source (so a decoder stops), as a direct for-await would.
 */
export async function* timeWaits<T>(
  source: AsyncIterable<T>,
  report: (seconds: number) => void,
  now: () => number = () => performance.now(),
): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let waitedMs = 0;
  let exhausted = false;
  try {
    for (;;) {
      const t0 = now();
      const r = await it.next();
      waitedMs += now() - t0;
      if (r.done) {
        exhausted = true;
        break;
      }
      yield r.value;
    }
  } finally {
    if (!exhausted) await it.return?.();
  }
  report(waitedMs / 1000);
}

export type QueueCounter = Pick<TaskQueue, 'counts'>;

/** a scrape does not wait longer than this for the queue (BullMQ waits for Redis to come back) */
const COUNTS_TIMEOUT_MS = 2000;

/**
 * queue_tasks{queue,state} in its own registry, read from the queue at scrape time. A queue that
 * cannot answer within 2 s (Redis down) leaves the gauge empty for that scrape rather than failing /metrics.
 */
export function createQueueMetrics(queue: QueueCounter): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'queue_tasks',
    help: 'Tasks in the queue by task name and state (waiting, active, delayed, failed); read at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      let counts: Awaited<ReturnType<QueueCounter['counts']>>;
      let timer: NodeJS.Timeout | undefined;
      try {
        counts = await Promise.race([
          queue.counts(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('queue counts timed out')), COUNTS_TIMEOUT_MS);
          }),
        ]);
      } catch {
        return;
      } finally {
        clearTimeout(timer);
      }
      for (const [name, byState] of Object.entries(counts))
        for (const [state, n] of Object.entries(byState)) this.set({ queue: name, state }, n);
    },
  });
  return registry;
}
