/**
 * GPU throughput (needs an NVIDIA GPU with CUDA 13 / cuDNN 9 and `web-detector gpu setup` done;
 * refuses with one sentence elsewhere):
 *
 *  1. raw model frames/s on cuda:N at batch 1, 2, 4, ..., 64, fp32 (float input) and fp16 (uint8
 *     input, the model variant the registry offers on GPUs), interleaved rounds, medians; the
 *     host→device copy of the input is inside each run (onnxruntime-node exposes no IO binding);
 *  2. end to end: the real service (createRuntime, PGlite, in-process queue) on a 1080p30 H.264
 *     video with real content, DETECTOR_DEVICE=cuda:N, model centernet-fp16, upload over HTTP
 *     until `completed`, analysed frames/s, for a few batch sizes and worker concurrencies.
 *
 * Run on a GPU machine:
 *   npm install && node bin/web-detector.js gpu setup && node bin/web-detector.js gpu check &&
 *   LD_LIBRARY_PATH=<the line gpu check prints> node --import tsx bench/gpu.ts
 * Options: [--device 0] [--rounds 10] [--seconds 30] [--batches 1,2,4,8,16,32,64]
 *          [--e2e-batches 16,32,64] [--concurrency 2,4] [--no-e2e]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { listGpus } from '../src/cli/gpu.js';
import { loadConfig } from '../src/config.js';
import { ensureDefaultModel } from '../src/inference/convert/default-model.js';
import { ensureFp16Model } from '../src/inference/convert/variants.js';
import { librariesProblem } from '../src/inference/gpu/libraries.js';
import { providerProblem } from '../src/inference/gpu/provider.js';
import { createSession } from '../src/inference/onnx-session.js';
import { createLogger } from '../src/logger.js';
import { createRuntime, MODEL_CACHE_DIR } from '../src/runtime.js';
import { FINISHED, getJob, registerAndLogin, uploadVideo } from './common/http.js';
import { fmt, machineLine, median, nowMs, sleep, table } from './common/stats.js';
import { contentVideo } from './common/video.js';

const { values } = parseArgs({
  options: {
    device: { type: 'string', default: '0' },
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '30' },
    batches: { type: 'string', default: '1,2,4,8,16,32,64' },
    'e2e-batches': { type: 'string', default: '16,32,64' },
    concurrency: { type: 'string', default: '2,4' },
    'no-e2e': { type: 'boolean', default: false },
  },
});
const device = Number(values.device);
const list = (s: string) => s.split(',').map((x) => Number(x.trim()));

// refuse politely where there is no CUDA
const problem = (await providerProblem()) ?? (await librariesProblem());
const gpus = await listGpus();
const gpu = gpus.find((g) => g.index === device);
if (problem || !gpu) {
  const why =
    problem ??
    `there is no GPU cuda:${device} (nvidia-smi lists ${gpus.length ? gpus.map((g) => g.index).join(', ') : 'none'})`;
  process.stderr.write(`bench/gpu.ts needs an NVIDIA GPU with CUDA 13 and cuDNN 9: ${why}\n`);
  process.exit(2);
}

// 1. raw model throughput
const fp32Path = await ensureDefaultModel(MODEL_CACHE_DIR);
const fp16Path = await ensureFp16Model(MODEL_CACHE_DIR);
const models = [
  {
    name: 'fp32 (float input)',
    session: await createSession(readFileSync(fp32Path), { device: { kind: 'cuda', id: device } }),
  },
  {
    name: 'fp16 (uint8 input)',
    session: await createSession(readFileSync(fp16Path), { device: { kind: 'cuda', id: device } }),
  },
];
const batches = list(values.batches);
const frame = 512 * 512 * 3;
const inputs = new Map<number, { f32: ort.Tensor; u8: ort.Tensor }>();
for (const b of batches) {
  const bytes = new Uint8Array(b * frame);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24; // not all zeros
  inputs.set(b, {
    f32: new ort.Tensor('float32', Float32Array.from(bytes), [b, 512, 512, 3]),
    u8: new ort.Tensor('uint8', bytes, [b, 512, 512, 3]),
  });
}
const samples = new Map<string, number[]>();
const rounds = Number(values.rounds);
for (let r = 0; r < rounds + 2; r++)
  for (const b of batches)
    for (const m of models) {
      const x =
        m.session.inputMetadata[0] &&
        'type' in m.session.inputMetadata[0] &&
        m.session.inputMetadata[0].type === 'uint8'
          ? inputs.get(b)?.u8
          : inputs.get(b)?.f32;
      const t = nowMs();
      await m.session.run({ [m.session.inputNames[0]]: x as ort.Tensor });
      const ms = nowMs() - t;
      if (r >= 2) samples.set(`${m.name}@${b}`, [...(samples.get(`${m.name}@${b}`) ?? []), ms]);
    }
for (const m of models) await m.session.release();
console.log(
  `\nGPU cuda:${device}: ${gpu.name}; onnxruntime-node ${ort.env.versions.common}; ${machineLine()}`,
);
console.log(`Raw model (MB3-CenterNet 512x512), ${rounds} rounds after 2 warm-up, medians:\n`);
console.log(
  table(
    ['batch', ...models.flatMap((m) => [`${m.name} ms/batch`, `${m.name} frames/s`])],
    batches.map((b) => [
      String(b),
      ...models.flatMap((m) => {
        const ms = median(samples.get(`${m.name}@${b}`) ?? []);
        return [fmt(ms, 2), fmt((b / ms) * 1000, 0)];
      }),
    ]),
  ),
);

// 2. end to end
if (!values['no-e2e']) {
  const seconds = Number(values.seconds);
  const video = await contentVideo(seconds);
  const rows: string[][] = [];
  for (const batch of list(values['e2e-batches']))
    for (const concurrency of list(values.concurrency)) {
      const dataDir = mkdtempSync(join(tmpdir(), 'wd-bench-gpu-'));
      const config = loadConfig({
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        ARGON2_MEMORY_KIB: '4096',
        ARGON2_TIME_COST: '1',
        MAX_UPLOAD_BYTES: String(8 * 1024 ** 3),
        DETECTOR_DEVICE: `cuda:${device}`,
        DETECTOR_BATCH_SIZE: String(batch),
        WORKER_CONCURRENCY: String(concurrency),
        CHUNK_SECONDS: '2',
      });
      const rt = await createRuntime(config, { log: createLogger(config), workers: true });
      const { app } = rt;
      await app.listen({ port: 0, host: '127.0.0.1' });
      const addr = app.server.address();
      const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      try {
        const token = await registerAndLogin(base);
        await rt.models.get('centernet-fp16');
        const t0 = nowMs();
        const id = await uploadVideo(base, token, video, { model: 'centernet-fp16' });
        let job = await getJob(base, token, id);
        while (!FINISHED.includes(job.status)) {
          await sleep(200);
          job = await getJob(base, token, id);
        }
        const ms = nowMs() - t0;
        if (job.status !== 'completed') throw new Error(`job ${id} ${job.status}`);
        rows.push([
          String(batch),
          String(concurrency),
          String(job.progress?.framesDone ?? 0),
          fmt(ms / 1000),
          fmt(((job.progress?.framesDone ?? 0) / ms) * 1000, 0),
        ]);
        process.stderr.write(
          `e2e batch ${batch} concurrency ${concurrency}: ${fmt(((job.progress?.framesDone ?? 0) / ms) * 1000, 0)} frames/s\n`,
        );
      } finally {
        await app.close();
        await rt.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  console.log(
    `\nEnd to end, ${seconds} s 1080p30 H.264 (upload start → completed), model centernet-fp16, chunks of 2 s:\n`,
  );
  console.log(
    table(['DETECTOR_BATCH_SIZE', 'WORKER_CONCURRENCY', 'frames', 'wall s', 'analysed frames/s'], rows),
  );
}
