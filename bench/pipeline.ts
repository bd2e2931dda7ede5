/**
 * Pipeline efficiency, standalone mode: a 1080p30 H.264 video with real content (the fixture
 * photos, panned) goes through the real service (createRuntime: PGlite in a temp DATA_DIR, the
 * in-process queue and workers, upload over HTTP), timed from the upload's first byte to the job's
 * `completed`, against the same detector's raw speed on frames already decoded to the model input
 * (Detector.detect, same batch size, frames in memory). Rounds interleave: raw, each pipeline
 * variant (rotating order), the same video at fps=5, and ffmpeg decode alone.
 *
 * Variants (--variants, comma-separated): `default` (the service as configured: the detector in
 * its worker thread runs on batch k while the main thread reads batch k+1 from ffmpeg, which
 * decodes up to 8 frames ahead, and results are written once a second), and for comparison `t2`
 * (ffmpeg -threads 2), `noahead` (no read-ahead queue in ffmpeg), `write0` (a write after every
 * batch) and `plain` (neither read-ahead nor batched writes).
 *
 * Usage: node --import tsx bench/pipeline.ts [--seconds 60] [--quick] [--rounds N]
 *        [--variants default,plain] [--raw-frames 100] [--no-fps5]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { ffmpegScaleFilter } from '../src/media/scale.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { makerFfmpeg } from '../test/helpers/maker.js';
import { engineScan } from './common/cli-frames.js';
import { FINISHED, registerAndLogin, uploadVideo } from './common/http.js';
import {
  cpuLine,
  cpuSnapshot,
  fmt,
  machineLine,
  median,
  nowMs,
  sleep,
  table,
  timeMs,
} from './common/stats.js';
import { contentVideo, decodeFrames } from './common/video.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    variants: { type: 'string', default: 'default' },
    'raw-frames': { type: 'string', default: '100' },
    'no-fps5': { type: 'boolean', default: false },
  },
});
const seconds = values.quick ? 10 : Number(values.seconds);
const rounds = Number(values.rounds ?? (values.quick ? 3 : 1));
const rawFrames = Number(values['raw-frames']);

interface Knobs {
  decodeThreads?: number;
  decodeReadAhead?: number;
  writeEveryMs?: number;
}
const VARIANTS: Record<string, Knobs> = {
  default: {},
  // ffmpeg -threads 2
  t2: { decodeThreads: 2 },
  // no read-ahead queue in ffmpeg (it blocks on the pipe once about one frame is unread)
  noahead: { decodeReadAhead: 0 },
  // results written after every batch
  write0: { writeEveryMs: 0 },
  // no read-ahead, a write per batch
  plain: { decodeReadAhead: 0, writeEveryMs: 0 },
};
const variantNames = values.variants.split(',').map((v) => v.trim());
for (const v of variantNames)
  if (!VARIANTS[v]) throw new Error(`unknown variant ${v}: ${Object.keys(VARIANTS).join(', ')}`);

const tMake = nowMs();
const video = await contentVideo(seconds);
const makeMs = nowMs() - tMake;

interface Service {
  name: string;
  rt: Runtime;
  base: string;
  token: string;
  dataDir: string;
  close(): Promise<void>;
}

async function startService(name: string, knobs: Knobs): Promise<Service> {
  const dataDir = mkdtempSync(join(tmpdir(), `wd-bench-pipeline-${name}-`));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
    MAX_UPLOAD_BYTES: String(8 * 1024 ** 3),
  });
  const log = createLogger(config);
  const rt = await createRuntime(config, { log, workers: true, ...knobs });
  const { app } = rt;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const token = await registerAndLogin(base);
  return {
    name,
    rt,
    base,
    token,
    dataDir,
    async close() {
      await rt.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const services: Service[] = [];
for (const v of variantNames) services.push(await startService(v, VARIANTS[v]));
const main = services.find((s) => s.name === 'default') ?? services[0];
const detector = await main.rt.models.get();
for (const s of services) await s.rt.models.get(); // load every variant's detector before timing
const config = main.rt.config;
const batchSize = config.detectorBatchSize;
const { width: inW, height: inH } = detector.model.input;
const frameBytes = inW * inH * 3;
const filter = ffmpegScaleFilter(detector.model.input);
// the raw-decode reference is Debian's ffmpeg CLI; the scan is the service's own (node-av)
const ffmpeg = makerFfmpeg();

const scanT = await timeMs(async () => (await engineScan(video)).scan);
const totalFrames = scanT.value.timestamps.length;
const rawSet = await decodeFrames(ffmpeg, video, filter, frameBytes, {
  step: Math.max(1, Math.floor(totalFrames / rawFrames)),
  count: rawFrames,
});
const original = { width: 1920, height: 1080 };

async function rawRound(): Promise<number> {
  const c = cpuSnapshot();
  const t = nowMs();
  for (let i = 0; i < rawSet.length; i += batchSize)
    await detector.detect(rawSet.slice(i, i + batchSize), original);
  const ms = nowMs() - t;
  process.stderr.write(
    `  raw: ${fmt((rawSet.length / ms) * 1000)} frames/s; ${cpuLine(c, cpuSnapshot(), ms)}\n`,
  );
  return (rawSet.length / ms) * 1000;
}

interface PipelineRun {
  frames: number;
  totalMs: number; // upload start .. completed
  afterSubmitMs: number; // 202 .. completed
  uploadMs: number;
}

async function pipelineRound(s: Service, fields: Record<string, string> = {}): Promise<PipelineRun> {
  const c0 = cpuSnapshot();
  const t0 = nowMs();
  const id = await uploadVideo(s.base, s.token, video, fields);
  const t1 = nowMs();
  for (;;) {
    const job = await s.rt.repos.jobs.getById(id);
    if (job && FINISHED.includes(job.status)) {
      const t2 = nowMs();
      if (job.status !== 'completed') throw new Error(`job ${id} ${job.status}: ${job.error}`);
      process.stderr.write(`  ${s.name}: ${cpuLine(c0, cpuSnapshot(), t2 - t0)}\n`);
      return { frames: job.framesDone, totalMs: t2 - t0, afterSubmitMs: t2 - t1, uploadMs: t1 - t0 };
    }
    // every 200 ms: each look is a PGlite query on the service's own thread (about 2 ms), which
    // at 50 ms took about 4% of a core from the run being measured
    await sleep(200);
  }
}

async function decodeRound(): Promise<number> {
  const t = nowMs();
  const n = (await decodeFrames(ffmpeg, video, filter, frameBytes, { discard: true })).length;
  return (n / (nowMs() - t)) * 1000;
}

// warm-up: one detector pass over the raw set
await rawRound();

// raw before and after every pipeline run: each run's ratio is against the mean of its two
// neighbours, which follows the machine's load as it drifts (other users on these 2 cores)
const raw: number[] = [];
const dec: number[] = [];
const runs: Record<string, PipelineRun[]> = Object.fromEntries(variantNames.map((v) => [v, []]));
const ratios: Record<string, number[]> = Object.fromEntries(variantNames.map((v) => [v, []]));
const fps5: PipelineRun[] = [];
const fullForFps5: number[] = [];
let before = await rawRound();
raw.push(before);
for (let r = 0; r < rounds; r++) {
  const order = variantNames.map((_, i) => services[(i + r) % services.length]);
  for (const s of order) {
    const run = await pipelineRound(s);
    const after = await rawRound();
    raw.push(after);
    runs[s.name].push(run);
    const fps = (run.frames / run.totalMs) * 1000;
    ratios[s.name].push(fps / ((before + after) / 2));
    process.stderr.write(
      `round ${r + 1}/${rounds} ${s.name}: ${run.frames} frames in ${fmt(run.totalMs / 1000, 1)} s (${fmt(fps)} frames/s; raw ${fmt(before)} / ${fmt(after)})\n`,
    );
    before = after;
    if (s === main) fullForFps5.push(run.totalMs);
  }
  if (!values['no-fps5']) {
    const run = await pipelineRound(main, { fps: '5' });
    fps5.push(run);
    process.stderr.write(
      `round ${r + 1}/${rounds} ${main.name} fps=5: ${run.frames} frames in ${fmt(run.totalMs / 1000, 1)} s\n`,
    );
  }
  dec.push(await decodeRound());
}

const rawFps = median(raw);
// the pipeline rows' ratios are per run (neighbouring raw runs); the other rows use the raw median
const sizeMiB = statSync(video).size / 1024 ** 2;
console.log(
  `\nPipeline efficiency: ${seconds} s 1080p30 H.264 (${totalFrames} frames, ${fmt(sizeMiB)} MiB; made in ${fmt(makeMs / 1000)} s or cached), model ${detector.model.name} ${inW}x${inH}, batch ${batchSize}, detector threads ${config.detectorThreads}, chunk ${config.chunkSeconds} s, worker concurrency ${config.workerConcurrency}`,
);
console.log(
  `${machineLine()}; ${rounds} interleaved round(s); medians. Packet scan (ffprobe) of the video: ${fmt(scanT.ms, 0)} ms\n`,
);
const rows: string[][] = [
  [
    `raw Detector.detect on ${rawSet.length} pre-decoded 512x512 frames`,
    '-',
    fmt(rawFps),
    '1.00',
    raw.map((x) => fmt(x)).join(', '),
  ],
  [
    `ffmpeg decode + scale alone (1 thread, ${totalFrames} frames, into Node)`,
    '-',
    fmt(median(dec)),
    fmt(median(dec) / rawFps, 2),
    dec.map((x) => fmt(x)).join(', '),
  ],
];
for (const v of variantNames) {
  const rs = runs[v];
  const fpsTotal = rs.map((x) => (x.frames / x.totalMs) * 1000);
  const fpsAfter = rs.map((x) => (x.frames / x.afterSubmitMs) * 1000);
  rows.push([
    `pipeline \`${v}\`, upload start → completed`,
    fmt(median(rs.map((x) => x.totalMs)) / 1000),
    fmt(median(fpsTotal)),
    `**${fmt(median(ratios[v]), 2)}** (${ratios[v].map((x) => fmt(x, 2)).join(', ')})`,
    fpsTotal.map((x) => fmt(x)).join(', '),
  ]);
  rows.push([
    `pipeline \`${v}\`, 202 → completed (upload ${fmt(median(rs.map((x) => x.uploadMs)), 0)} ms excluded)`,
    fmt(median(rs.map((x) => x.afterSubmitMs)) / 1000),
    fmt(median(fpsAfter)),
    fmt(median(rs.map((x, i) => (ratios[v][i] * x.totalMs) / x.afterSubmitMs)), 2),
    fpsAfter.map((x) => fmt(x)).join(', '),
  ]);
}
console.log(
  table(
    [
      'run',
      'median wall s',
      'analysed frames/s',
      'ratio to raw (median; per run, vs the raw runs just before and after)',
      'frames/s per run',
    ],
    rows,
  ),
);
if (fps5.length) {
  const f5 = median(fps5.map((x) => x.totalMs));
  const full = median(fullForFps5);
  const frames5 = fps5[0].frames;
  console.log(`\nSampling (\`${main.name}\`), same video:\n`);
  console.log(
    table(
      ['run', 'frames analysed', 'median wall s', 'wall vs full rate', 'frames vs full rate'],
      [
        ['every frame', String(totalFrames), fmt(full / 1000), '1.00', '1.00'],
        ['fps=5', String(frames5), fmt(f5 / 1000), fmt(f5 / full, 2), fmt(frames5 / totalFrames, 2)],
      ],
    ),
  );
}
for (const s of services) await s.close();
