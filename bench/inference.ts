/**
 * Default model speed: ONNX Runtime fp32 (batch 1 and 4) and int8 (batch 4) vs TensorFlow.js wasm
 * on the same 512x512 fixture frames, interleaved rounds in one process; then how closely the
 * int8 model (and, with --fp16, the fp16 model) agrees with fp32: matched-box F1 at IoU 0.5 on
 * 240 frames of five sample clips that calibration did not see (bench/common/frame-sets.ts).
 * Prints markdown tables.
 * Usage: node --import tsx bench/inference.ts [--warmup 5] [--rounds 20] [--threads N] [--no-tfjs]
 *        [--int8-methods minmax,p99.99,...] [--fp16] [--no-agreement]
 */
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { matchedBoxF1 } from '../src/inference/agreement.js';
import { CENTERNET_INFO, convertCenternet } from '../src/inference/convert/default-model.js';
import { buildFp16Model, CENTERNET_FP16_INFO } from '../src/inference/convert/variants.js';
import { createOnnxDetector } from '../src/inference/detector.js';
import { createSession } from '../src/inference/onnx-session.js';
import {
  buildInt8Model,
  CENTERNET_INT8_INFO,
  loadCalibrationTable,
} from '../src/inference/quantize/centernet-int8.js';
import type { Detection, Detector } from '../src/inference/types.js';
import { ffmpegScaleFilter } from '../src/media/scale.js';
import { CENTERNET_JSON, decodeRgb, fixture } from '../test/integration/inference/helpers/fixtures.js';
import {
  initTfjs,
  loadGraphModelFromFile,
  runTfjs,
  tf,
} from '../test/integration/inference/helpers/tfjs-reference.js';
import { evaluationFrames } from './common/frame-sets.js';

const { values } = parseArgs({
  options: {
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '20' },
    threads: { type: 'string' },
    'no-tfjs': { type: 'boolean', default: false },
    'int8-methods': { type: 'string' },
    fp16: { type: 'boolean', default: false },
    'no-agreement': { type: 'boolean', default: false },
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
const table = await loadCalibrationTable();
const int8 = buildInt8Model(converted.onnx, table);
const frames = ['astronaut.png', 'chelsea.png', 'coffee.png', 'astronaut.png'].map((f) =>
  decodeRgb(fixture(f)),
);
const floats = frames.map((f) => Float32Array.from(f));
const batch4 = new Float32Array(4 * 512 * 512 * 3);
for (const [i, f] of floats.entries()) batch4.set(f, i * f.length);
const bytes4 = new Uint8Array(4 * 512 * 512 * 3);
for (const [i, f] of frames.entries()) bytes4.set(f, i * f.length);

const cpu = { device: { kind: 'cpu' as const }, intraOpThreads: threads };
const session = await createSession(converted.onnx, cpu);
const session8 = await createSession(int8, cpu);
const detector = await createOnnxDetector(
  { model: CENTERNET_INFO, onnxPath: converted.onnx },
  { intraOpThreads: threads, maxBatch: 4 },
);
const detector8 = await createOnnxDetector(
  { model: CENTERNET_INT8_INFO, onnxPath: int8 },
  { intraOpThreads: threads, maxBatch: 4 },
);
const withTfjs = !values['no-tfjs'];
const backend = withTfjs ? await initTfjs('wasm') : '';
const tfModel = withTfjs ? await loadGraphModelFromFile(CENTERNET_JSON) : undefined;
const outputs = ['tower_0/keypoints', 'tower_0/wh'];

const runOrt = async (s: ort.InferenceSession, data: Float32Array | Uint8Array, b: number) => {
  const x =
    data instanceof Uint8Array
      ? new ort.Tensor('uint8', data, [b, 512, 512, 3])
      : new ort.Tensor('float32', data, [b, 512, 512, 3]);
  const res = await s.run({ 'tower_0/images': x });
  return res['tower_0/keypoints'].data;
};

type Key = 'ort1' | 'ort4' | 'int8' | 'det4' | 'det8' | 'tfjs';
const samples: Record<Key, number[]> = { ort1: [], ort4: [], int8: [], det4: [], det8: [], tfjs: [] };
const original = { width: 512, height: 512 };
for (let r = 0; r < warmup + rounds; r++) {
  const i = r % 3;
  // the order of the fp32/int8 pairs alternates, so neither always runs right after TF.js
  const pair = r % 2 === 0;
  const t: Partial<Record<Key, number>> = {};
  t.ort1 = await time(() => runOrt(session, floats[i], 1));
  if (pair) t.ort4 = (await time(() => runOrt(session, batch4, 4))) / 4;
  t.int8 = (await time(() => runOrt(session8, bytes4, 4))) / 4;
  if (!pair) t.ort4 = (await time(() => runOrt(session, batch4, 4))) / 4;
  if (pair) t.det4 = (await time(() => detector.detect(frames, original))) / 4;
  t.det8 = (await time(() => detector8.detect(frames, original))) / 4;
  if (!pair) t.det4 = (await time(() => detector.detect(frames, original))) / 4;
  if (tfModel) t.tfjs = await time(() => runTfjs(tfModel, floats[i], [1, 512, 512, 3], outputs));
  if (r >= warmup) for (const [k, v] of Object.entries(t)) samples[k as Key].push(v);
}

const gflops = converted.flops / 1e9;
const ms = (k: Key) => median(samples[k]);
console.log(
  `\nMB3-CenterNet 512x512, ${gflops.toFixed(2)} GFLOP per frame (counted from the converted graph)`,
);
console.log(
  `CPU: ${cpus()[0]?.model ?? '?'} x${cpus().length}; onnxruntime-node ${ort.env.versions.common}, intra-op threads ${threads}; ${warmup} warm-up + ${rounds} timed rounds, interleaved; int8 calibration ${table.method}\n`,
);
const rows: [string, Key, Key][] = [
  ['ONNX Runtime fp32, batch 1 (model only)', 'ort1', 'ort1'],
  ['ONNX Runtime fp32, batch 4 (model only)', 'ort4', 'ort4'],
  ['ONNX Runtime int8, batch 4 (model only, uint8 input)', 'int8', 'ort4'],
  ['Detector.detect fp32, batch 4 (preprocess + model + decode + NMS)', 'det4', 'det4'],
  ['Detector.detect int8, batch 4', 'det8', 'det4'],
];
if (tfModel) rows.push([`TensorFlow.js ${tf.version.tfjs} ${backend}, batch 1 (model only)`, 'tfjs', 'tfjs']);
console.log(
  '| runtime | median ms / frame | frames/s | speed-up vs fp32 (same row kind) | speed-up vs TF.js |',
);
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, k, base] of rows) {
  const vsTf = tfModel ? `${(ms('tfjs') / ms(k)).toFixed(2)}x` : '-';
  console.log(
    `| ${name} | ${ms(k).toFixed(1)} | ${(1000 / ms(k)).toFixed(1)} | ${(ms(base) / ms(k)).toFixed(2)}x | ${vsTf} |`,
  );
}
await session.release();
await session8.release();
tfModel?.dispose();

if (!values['no-agreement']) {
  const { width, height } = CENTERNET_INFO.input;
  const evalSet = await evaluationFrames({
    filter: ffmpegScaleFilter(CENTERNET_INFO.input),
    frameBytes: width * height * 3,
  });
  const detectAll = async (d: Detector): Promise<Detection[][]> => {
    const out: Detection[][] = [];
    for (let i = 0; i < evalSet.length; i += 4)
      out.push(
        ...(await d.detect(
          evalSet.slice(i, i + 4).map((f) => f.rgb),
          original,
        )),
      );
    return out;
  };
  const reference = await detectAll(detector);
  const variants: [string, Detector][] = [];
  const methods = values['int8-methods']?.split(',').map((m) => m.trim()) ?? [table.method];
  for (const m of methods) {
    const d =
      m === table.method
        ? detector8
        : await createOnnxDetector(
            { model: CENTERNET_INT8_INFO, onnxPath: buildInt8Model(converted.onnx, table, { method: m }) },
            { intraOpThreads: threads, maxBatch: 4 },
          );
    variants.push([`int8 (${m}${m === table.method ? ', the shipped table method' : ''})`, d]);
  }
  if (values.fp16) {
    // on the CPU ONNX Runtime runs fp16 through inserted casts: slow, but the numbers are fp16's
    const d = await createOnnxDetector(
      { model: CENTERNET_FP16_INFO, onnxPath: buildFp16Model(converted.onnx) },
      { intraOpThreads: threads, maxBatch: 4 },
    );
    variants.push(['fp16 (uint8 input; run on the CPU)', d]);
  }
  console.log(
    `\nAgreement with fp32 on ${evalSet.length} frames (${[...new Set(evalSet.map((f) => f.source.split('#')[0]))].join(', ')}), default options (min score 0.25, NMS 0.45): ${reference.flat().length} fp32 boxes\n`,
  );
  console.log('| model | boxes | matched | extra | missed | precision | recall | matched-box F1 (IoU 0.5) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, d] of variants) {
    const got = await detectAll(d);
    const a = matchedBoxF1(reference, got);
    console.log(
      `| ${name} | ${got.flat().length} | ${a.matched} | ${a.extra} | ${a.missed} | ${a.precision.toFixed(3)} | ${a.recall.toFixed(3)} | **${a.f1.toFixed(3)}** |`,
    );
    if (d !== detector8) await d.close();
  }
}
await detector.close();
await detector8.close();
