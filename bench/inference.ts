/**
 * Default model speed: ONNX Runtime (batch 1 and 4) vs TensorFlow.js wasm on the same 512x512
 * fixture frames, interleaved rounds in one process. Prints a markdown table.
 * Usage: node --import tsx bench/inference.ts [--warmup 5] [--rounds 20] [--threads N]
 */
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { CENTERNET_INFO, convertCenternet } from '../src/inference/convert/default-model.js';
import { createOnnxDetector } from '../src/inference/detector.js';
import { createSession } from '../src/inference/onnx-session.js';
import { CENTERNET_JSON, decodeRgb, fixture } from '../test/integration/inference/helpers/fixtures.js';
import {
  initTfjs,
  loadGraphModelFromFile,
  runTfjs,
  tf,
} from '../test/integration/inference/helpers/tfjs-reference.js';

const { values } = parseArgs({
  options: {
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '20' },
    threads: { type: 'string' },
  },
});
const warmup = Number(values.warmup);
const rounds = Number(values.rounds);
const threads = values.threads ? Number(values.threads) : availableParallelism();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const converted = await convertCenternet(CENTERNET_JSON);
const frames = ['astronaut.png', 'chelsea.png', 'coffee.png', 'astronaut.png'].map((f) =>
  decodeRgb(fixture(f)),
);
const floats = frames.map((f) => Float32Array.from(f));
const batch4 = new Float32Array(4 * 512 * 512 * 3);
for (const [i, f] of floats.entries()) batch4.set(f, i * f.length);

const session = await createSession(converted.onnx, { device: { kind: 'cpu' }, intraOpThreads: threads });
const detector = await createOnnxDetector(
  { model: CENTERNET_INFO, onnxPath: converted.onnx },
  { intraOpThreads: threads, maxBatch: 4 },
);
const backend = await initTfjs('wasm');
const tfModel = await loadGraphModelFromFile(CENTERNET_JSON);
const outputs = ['tower_0/keypoints', 'tower_0/wh'];

const runOrt = async (data: Float32Array, b: number) => {
  const res = await session.run({ 'tower_0/images': new ort.Tensor('float32', data, [b, 512, 512, 3]) });
  return res['tower_0/keypoints'].data;
};

const samples: Record<string, number[]> = { ort1: [], ort4: [], det4: [], tfjs: [] };
for (let r = 0; r < warmup + rounds; r++) {
  const i = r % 3;
  const t1 = await time(() => runOrt(floats[i], 1));
  const t4 = (await time(() => runOrt(batch4, 4))) / 4;
  const d4 = (await time(() => detector.detect(frames, { width: 512, height: 512 }))) / 4;
  const tt = await time(() => runTfjs(tfModel, floats[i], [1, 512, 512, 3], outputs));
  if (r >= warmup) {
    samples.ort1.push(t1);
    samples.ort4.push(t4);
    samples.det4.push(d4);
    samples.tfjs.push(tt);
  }
}

const gflops = converted.flops / 1e9;
const tfMs = median(samples.tfjs);
const rows: [string, number][] = [
  ['ONNX Runtime, batch 1 (model only)', median(samples.ort1)],
  ['ONNX Runtime, batch 4 (model only)', median(samples.ort4)],
  ['Detector.detect, batch 4 (preprocess + model + decode + NMS)', median(samples.det4)],
  [`TensorFlow.js ${tf.version.tfjs} ${backend}, batch 1 (model only)`, tfMs],
];
console.log(
  `\nMB3-CenterNet 512x512, ${gflops.toFixed(2)} GFLOP per frame (counted from the converted graph)`,
);
console.log(
  `CPU: ${cpus()[0]?.model ?? '?'} x${cpus().length}; onnxruntime-node ${ort.env.versions.common}, intra-op threads ${threads}; ${warmup} warm-up + ${rounds} timed rounds, interleaved\n`,
);
console.log('| runtime | median ms / frame | frames/s | GFLOP/s | speed-up vs TF.js |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, ms] of rows) {
  console.log(
    `| ${name} | ${ms.toFixed(1)} | ${(1000 / ms).toFixed(1)} | ${(gflops / (ms / 1000)).toFixed(1)} | ${(tfMs / ms).toFixed(2)}x |`,
  );
}
await detector.close();
await session.release();
tfModel.dispose();
