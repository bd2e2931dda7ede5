/**
 * Measures the activation ranges of the fp32 default model for int8 quantization and writes
 * models/calibration/centernet-int8.json (committed; the int8 model is built from it on first use).
 *
 * Frames: the fixture photos and 12 frames of each sample clip (bench/common/frame-sets.ts; the
 * clips are in MEDIA_SAMPLES_DIR, default /work/media-samples). Pass 0 measures each channel's
 * largest |x| in the tensors channel equalization can scale and picks the scales
 * (src/inference/quantize/equalize.ts); the equalized fp32 model then runs with every tensor the
 * quantizer needs as an extra output: pass 1 records minimum and maximum, pass 2 histograms, from
 * which the percentile ranges come. The table keeps minmax and several
 * percentiles; `--method` picks the one the model uses (bench/inference.ts --int8-methods compares
 * them on other frames).
 *
 * Pass 3 quantizes one tensor at a time and keeps the `--keep-float` tensors whose quantization
 * alone moves the keypoint heatmap most in float. Ranges are stored as measured; the model
 * widens them by `--margin` (frames the calibration did not see reach beyond them).
 *
 * Usage: node --import tsx scripts/calibrate-int8.ts [--method minmax] [--margin 1.3]
 *        [--keep-float 10] [--percentiles] [--out file]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { calibrationFrames, FIXTURE_PHOTOS } from '../bench/common/frame-sets.js';
import {
  CENTERNET_INFO,
  CENTERNET_OUTPUTS,
  convertCenternet,
} from '../src/inference/convert/default-model.js';
import { DataType, decodeGraph, encodeModel, type GraphMsg } from '../src/inference/onnx/proto.js';
import { RangeCollector } from '../src/inference/quantize/calibrate.js';
import {
  CALIBRATION_FILE,
  type CalibrationTable,
  calibrationTargets,
  EQUALIZATION_ALPHA,
  equalizedGraph,
  sha256,
  withMargin,
} from '../src/inference/quantize/centernet-int8.js';
import {
  equalizationGroups,
  equalizationScales,
  foldChannelAbsMax,
} from '../src/inference/quantize/equalize.js';
import { quantizeGraph } from '../src/inference/quantize/qdq.js';
import { ffmpegScaleFilter } from '../src/media/scale.js';

const PERCENTILES = [99.9, 99.99, 99.999];

const { values } = parseArgs({
  options: {
    method: { type: 'string', default: 'minmax' },
    margin: { type: 'string', default: '1.3' },
    'keep-float': { type: 'string', default: '10' },
    percentiles: { type: 'boolean', default: false },
    out: { type: 'string', default: CALIBRATION_FILE },
  },
});
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const { onnx } = await convertCenternet();
const { graph, opset } = decodeGraph(onnx);
const { width, height } = CENTERNET_INFO.input;
const frames = await calibrationFrames({
  filter: ffmpegScaleFilter(CENTERNET_INFO.input),
  frameBytes: width * height * 3,
});
const inputOf = (f: (typeof frames)[number]) =>
  new ort.Tensor('float32', Float32Array.from(f.rgb), [1, height, width, 3]);

/** A session on `g` with `extra` tensors as outputs, run on every frame. */
async function observe(g: GraphMsg, extra: string[], use: (res: ort.InferenceSession.ReturnType) => void) {
  const probe = encodeModel(
    { ...g, outputs: [...g.outputs, ...extra.map((name) => ({ name, elemType: DataType.FLOAT }))] },
    { opset, producer: 'web-detector calibration probe' },
  );
  const session = await ort.InferenceSession.create(probe, { graphOptimizationLevel: 'all' });
  for (const f of frames) use(await session.run({ [session.inputNames[0]]: inputOf(f) }));
  await session.release();
}

// pass 0: channel equalization
const groups = equalizationGroups(graph);
const channelMax = new Map(groups.map((gr) => [gr.key, new Float64Array(gr.channels)]));
await observe(
  graph,
  groups.flatMap((gr) => gr.tensors),
  (res) => {
    for (const gr of groups)
      for (const t of gr.tensors)
        foldChannelAbsMax(channelMax.get(gr.key) as Float64Array, res[t].data as Float32Array, res[t].dims);
  },
);
const equalization: CalibrationTable['equalization'] = {};
for (const gr of groups) {
  const alpha = gr.depthwiseReadersOnly
    ? EQUALIZATION_ALPHA.depthwiseReaders
    : EQUALIZATION_ALPHA.otherReaders;
  equalization[gr.key] = Array.from(equalizationScales(channelMax.get(gr.key) as Float64Array, alpha));
}
const equalized = equalizedGraph(graph, equalization);
console.log(
  `${frames.length} calibration frames; pass 0 (${groups.length} equalization groups) done after ${elapsed()}`,
);

// passes 1 and 2: activation ranges of the equalized model
const targets = calibrationTargets(equalized);
const collector = new RangeCollector();
await observe(equalized, targets, (res) => {
  for (const t of targets) collector.observe(t, res[t].data as Float32Array);
});
console.log(`pass 1 (${targets.length} tensors) done after ${elapsed()}`);
const ranges: CalibrationTable['ranges'] = { minmax: collector.ranges('minmax') };
if (values.percentiles) {
  collector.startSecondPass();
  await observe(equalized, targets, (res) => {
    for (const t of targets) collector.histogram(t, res[t].data as Float32Array);
  });
  for (const p of PERCENTILES) ranges[`p${p}`] = collector.ranges('percentile', p);
  console.log(`pass 2 (histograms) done after ${elapsed()}`);
}
if (!ranges[values.method]) throw new Error(`--method must be one of ${Object.keys(ranges).join(', ')}.`);

// pass 3: which tensors hurt most when quantized alone (simulated: ORT's fusions off, so the
// model computes float ops on quantized-dequantized tensors) on a photo and a clip frame
const margin = Number(values.margin);
const sensitivityFrames = [frames[0], frames[FIXTURE_PHOTOS.length]].map(inputOf);
const keypoints = CENTERNET_OUTPUTS[0];
const plain = await ort.InferenceSession.create(encodeModel(equalized, { opset, producer: 'probe' }));
const reference = [];
for (const x of sensitivityFrames)
  reference.push((await plain.run({ [plain.inputNames[0]]: x }))[keypoints].data as Float32Array);
await plain.release();
const widened = withMargin(ranges[values.method], margin);
const input = graph.inputs[0].name;
const sensitivity: [number, string][] = [];
for (const t of targets.filter((x) => x !== input)) {
  const q = quantizeGraph(
    equalized,
    { ...widened, [input]: { min: 0, max: 255 } },
    {
      keepFloat: targets.filter((u) => u !== t && u !== input),
    },
  );
  const s = await ort.InferenceSession.create(encodeModel(q, { opset, producer: 'probe' }), {
    graphOptimizationLevel: 'disabled',
  });
  let worst = 0;
  for (const [i, x] of sensitivityFrames.entries()) {
    const got = (await s.run({ [s.inputNames[0]]: x }))[keypoints].data as Float32Array;
    for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j] - reference[i][j]));
  }
  await s.release();
  sensitivity.push([worst, t]);
}
sensitivity.sort((a, b) => b[0] - a[0]);
const keepFloat = sensitivity.slice(0, Number(values['keep-float'])).map(([, t]) => t);
console.log(`pass 3 (sensitivity of ${sensitivity.length} tensors) done after ${elapsed()}; kept float:`);
for (const [e, t] of sensitivity.slice(0, keepFloat.length)) console.log(`  ${e.toFixed(4)} ${t}`);

const table: CalibrationTable = {
  fp32Sha256: sha256(onnx),
  equalization,
  method: values.method,
  margin,
  keepFloat,
  frames: frames.map((f) => f.source),
  ranges,
};
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, `${JSON.stringify(table)}\n`);
console.log(`wrote ${values.out} (method ${values.method}) after ${elapsed()}`);
