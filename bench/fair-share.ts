/**
 * Fair share between users (issue 10): user A submits five 60 s videos, then user B a 10 s video;
 * how long B waits for its first results and for its job to complete. The real service in this
 * process (createRuntime: PGlite in a temp DATA_DIR, workers in-process, WORKER_CONCURRENCY=1),
 * over HTTP, with the in-process queue and with BullMQ on this machine's Redis (a unique prefix).
 *
 * "fifo" is the queue as it was before fair share: the same service with the tasks' fairnessKey
 * removed on their way into the queue, which makes both adapters plain FIFO (the memory adapter
 * puts every task in one lane; the BullMQ adapter adds keyless tasks to BullMQ directly, as it
 * always did). "fair" is the service as shipped. Rounds alternate fifo and fair; each round uses
 * two new users, and cancels A's jobs once B is done.
 *
 * Usage: node --import tsx bench/fair-share.ts [--rounds 2] [--adapters memory,bullmq] [--fps 2]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { deleteQueueKeys } from '../src/queue/bullmq.js';
import type { TaskQueue } from '../src/queue/port.js';
import { createRuntime, createTaskQueue } from '../src/runtime.js';
import { FINISHED, getJob, registerAndLogin, uploadVideo } from './common/http.js';
import { fmt, machineLine, median, nowMs, sleep, table } from './common/stats.js';
import { contentVideo } from './common/video.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    adapters: { type: 'string', default: 'memory,bullmq' },
    fps: { type: 'string', default: '2' },
  },
});
const rounds = Number(values.rounds);
const adapters = (values.adapters ?? '').split(',').filter(Boolean);
const fields = { fps: values.fps ?? '2' };
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const long = await contentVideo(60, 640, 360, 30);
const short = await contentVideo(10, 640, 360, 30);

interface Sample {
  firstResultS: number;
  completeS: number;
}

async function startService(adapter: string) {
  const dataDir = mkdtempSync(join(tmpdir(), `wd-bench-fair-${adapter}-`));
  const prefix = `wdbench-fair-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
    QUEUE_PREFIX: prefix,
    ...(adapter === 'bullmq' ? { REDIS_URL } : {}),
  });
  // the fifo switch: the configured queue, with the fairness key dropped on the way in
  const state = { fifo: false };
  const inner = createTaskQueue(config);
  const queue: TaskQueue = {
    ...inner,
    enqueue: (name, payload, opts) =>
      inner.enqueue(name, payload, state.fifo ? { ...opts, fairnessKey: undefined } : opts),
  };
  const rt = await createRuntime(config, { log: createLogger(config), workers: true, queue });
  const app = rt.app;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  await rt.models.get(); // the detector is loaded before anything is timed
  return {
    base,
    state,
    async close() {
      await rt.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (adapter === 'bullmq') await deleteQueueKeys(REDIS_URL, prefix);
    },
  };
}

async function round(base: string): Promise<Sample> {
  const a = await registerAndLogin(base);
  const b = await registerAndLogin(base);
  const aJobs: string[] = [];
  for (let i = 0; i < 5; i++) aJobs.push(await uploadVideo(base, a, long, fields));
  const t0 = nowMs();
  const bJob = await uploadVideo(base, b, short, fields);
  let firstResultS = Number.NaN;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const j = await getJob(base, b, bJob);
    if (Number.isNaN(firstResultS) && (j.progress?.framesDone ?? 0) > 0) firstResultS = (nowMs() - t0) / 1000;
    if (FINISHED.includes(j.status)) {
      if (j.status !== 'completed') throw new Error(`B's job ended ${j.status}: ${j.error}`);
      break;
    }
    if (Date.now() > deadline) throw new Error("B's job did not finish in 15 minutes");
    await sleep(100);
  }
  const completeS = (nowMs() - t0) / 1000;
  // A's jobs are not what is measured: cancel them and let the queue drain its no-op tasks
  for (const id of aJobs)
    await fetch(`${base}/v1/jobs/${id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a}` },
    });
  for (const id of aJobs) while (!FINISHED.includes((await getJob(base, a, id)).status)) await sleep(100);
  await sleep(2000);
  return { firstResultS, completeS };
}

const rows: string[][] = [];
for (const adapter of adapters) {
  const s = await startService(adapter);
  const samples: Record<'fifo' | 'fair', Sample[]> = { fifo: [], fair: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const variant of r % 2 === 0 ? (['fifo', 'fair'] as const) : (['fair', 'fifo'] as const)) {
        s.state.fifo = variant === 'fifo';
        const sample = await round(s.base);
        samples[variant].push(sample);
        process.stderr.write(
          `${adapter} ${variant} round ${r + 1}: first result ${fmt(sample.firstResultS)} s, complete ${fmt(sample.completeS)} s\n`,
        );
      }
    }
  } finally {
    await s.close();
  }
  for (const variant of ['fifo', 'fair'] as const) {
    const first = samples[variant].map((x) => x.firstResultS);
    const done = samples[variant].map((x) => x.completeS);
    rows.push([
      adapter,
      variant,
      fmt(median(first)),
      fmt(Math.max(...first)),
      fmt(median(done)),
      fmt(Math.max(...done)),
    ]);
  }
}

console.log(
  table(
    [
      'queue',
      'scheduling',
      "B's first result, median (s)",
      'max (s)',
      "B's job completed, median (s)",
      'max (s)',
    ],
    rows,
    ['l', 'l', 'r', 'r', 'r', 'r'],
  ),
);
console.log(
  `\n${rounds} round(s) per cell; A: five 60 s 640x360 videos, B: one 10 s video, fps=${fields.fps}, CHUNK_SECONDS=10, WORKER_CONCURRENCY=1.`,
);
console.log(machineLine());
