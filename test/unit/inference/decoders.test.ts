/**
 * Decoders end to end: tiny ONNX models built here (outputs are Constants, or computed from the
 * input), written to a model folder with a manifest, run by the real detector on onnxruntime-node;
 * boxes must come back in original-image pixels for stretch and letterbox.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeCenternet } from '../../../src/inference/decoders/centernet.js';
import type { OutputTensor } from '../../../src/inference/decoders/common.js';
import { decodeYolo } from '../../../src/inference/decoders/yolo.js';
import { createOnnxDetector } from '../../../src/inference/detector.js';
import { GraphBuilder, type TensorData, tensorProto } from '../../../src/inference/onnx/builder.js';
import { DataType } from '../../../src/inference/onnx/proto.js';
import type { Detection } from '../../../src/inference/types.js';

const W = 64;
const H = 64;

/** A model with a fixed-batch-1 NCHW image input whose outputs are the given constants. */
function constantModel(
  outputs: { name: string; dims: number[]; data: TensorData; type?: number }[],
): Uint8Array {
  const b = new GraphBuilder('const');
  b.input('images', DataType.FLOAT, [1, 3, H, W]);
  for (const o of outputs) {
    b.opMulti('Constant', [], [o.name], { value: { t: tensorProto(`${o.name}_value`, o.dims, o.data) } });
    b.output(o.name, (o.type ?? DataType.FLOAT) as 1, o.dims);
  }
  return b.encode();
}

function modelDir(onnx: Uint8Array, manifest: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'wd-model-'));
  writeFileSync(join(dir, 'model.onnx'), onnx);
  writeFileSync(
    join(dir, 'model.json'),
    JSON.stringify({ name: 'test', labels: ['person', 'car'], ...manifest }),
  );
  return dir;
}

const input = (resize: 'stretch' | 'letterbox', layout = 'NCHW') => ({ width: W, height: H, layout, resize });
const frame = () => new Uint8Array(W * H * 3);
const rounded = (d: Detection) => ({
  label: d.label,
  score: +d.score.toFixed(4),
  box: Object.fromEntries(Object.entries(d.box).map(([k, v]) => [k, +v.toFixed(3)])),
});

async function detectOnce(dir: string, original: { width: number; height: number }, frames = [frame()]) {
  const det = await createOnnxDetector(dir, { intraOpThreads: 1 });
  try {
    return await det.detect(frames, original);
  } finally {
    await det.close();
  }
}

// YOLOv8 head [1, 4+2, 3]: box 0 person 0.9 at (32,32) 16x8; box 1 car 0.8 same place; box 2 too weak
const yoloHead = new Float32Array([
  32,
  10,
  5, // cx
  32,
  10,
  5, // cy
  16,
  4,
  2, // w
  8,
  4,
  2, // h
  0.9,
  0.1,
  0.1, // person
  0.2,
  0.8,
  0.2, // car
]);

test('yolo: stretch maps to original pixels', async () => {
  const dir = modelDir(constantModel([{ name: 'output0', dims: [1, 6, 3], data: yoloHead }]), {
    decoder: 'yolo',
    input: input('stretch'),
  });
  const [dets] = await detectOnce(dir, { width: 128, height: 256 });
  assert.deepEqual(dets.map(rounded), [
    { label: 'person', score: 0.9, box: { x1: 48, y1: 112, x2: 80, y2: 144 } },
    { label: 'car', score: 0.8, box: { x1: 16, y1: 32, x2: 24, y2: 48 } },
  ]);
});

test('yolo: letterbox removes padding (256x128 in 64x64: scale 4, padY 16)', async () => {
  const dir = modelDir(constantModel([{ name: 'output0', dims: [1, 6, 3], data: yoloHead }]), {
    decoder: 'yolo',
    input: input('letterbox'),
  });
  const [dets] = await detectOnce(dir, { width: 256, height: 128 });
  assert.deepEqual(dets.map(rounded)[0], {
    label: 'person',
    score: 0.9,
    box: { x1: 96, y1: 48, x2: 160, y2: 80 },
  });
  // car box (8..12, 8..12) lies in the top padding (0..16): dropped
  assert.equal(dets.length, 1);
});

test('yolo: transposed [1, N, 4+nc] and YOLOv5 [1, N, 5+nc] with objectness', () => {
  const ctx = { input: { width: W, height: H }, numClasses: 2, batch: 1, minScore: 0.25 };
  const t: OutputTensor = {
    name: 'o',
    dims: [1, 2, 6],
    data: new Float32Array([10, 10, 4, 4, 0.1, 0.7, 20, 20, 2, 2, 0.3, 0.1]),
  };
  assert.deepEqual(decodeYolo([t], ctx)[0], [
    { x1: 8, y1: 8, x2: 12, y2: 12, score: Math.fround(0.7), classId: 1 },
    { x1: 19, y1: 19, x2: 21, y2: 21, score: Math.fround(0.3), classId: 0 },
  ]);
  const v5: OutputTensor = {
    name: 'o',
    dims: [1, 2, 7],
    data: new Float32Array([10, 10, 4, 4, 0.5, 0.2, 0.8, 20, 20, 2, 2, 0.2, 1, 0]),
  };
  const out = decodeYolo([v5], ctx)[0];
  assert.equal(out.length, 1);
  assert.equal(out[0].classId, 1);
  assert.ok(Math.abs(out[0].score - 0.4) < 1e-6);
  assert.throws(
    () => decodeYolo([{ name: 'o', dims: [1, 9, 3], data: new Float32Array(27) }], ctx),
    /expects output o shaped/,
  );
});

test('end2end: dynamic batch, each frame decoded from its own pixels', async () => {
  // input NHWC [batch, 1, 2, 3] (two pixels = 6 values) -> Reshape [batch, 1, 6] -> * [1,1,1,1,1/255,1]
  const b = new GraphBuilder('e2e');
  b.input('images', DataType.FLOAT, ['batch', 1, 2, 3]);
  const shape = b.initializer('shape', [3], new BigInt64Array([-1n, 1n, 6n]));
  const k = b.initializer('k', [6], new Float32Array([1, 1, 1, 1, 1 / 255, 1]));
  const r = b.op('Reshape', ['images', shape], 'r');
  b.opMulti('Mul', [r, k], ['dets']);
  b.output('dets', DataType.FLOAT, ['batch', 1, 6]);
  const dir = modelDir(b.encode(), {
    decoder: 'end2end',
    input: { width: 2, height: 1, layout: 'NHWC', scale: 255 },
  });
  const frames = [
    new Uint8Array([0, 0, 1, 1, 204, 1]),
    new Uint8Array([1, 0, 2, 1, 102, 0]),
    new Uint8Array([0, 0, 2, 1, 10, 0]),
  ];
  const dets = await detectOnce(dir, { width: 200, height: 100 }, frames);
  assert.deepEqual(
    dets.map((f) => f.map(rounded)),
    [
      [{ label: 'car', score: 0.8, box: { x1: 0, y1: 0, x2: 100, y2: 100 } }],
      [{ label: 'person', score: 0.4, box: { x1: 100, y1: 0, x2: 200, y2: 100 } }],
      [],
    ],
  );
});

test('rtdetr: normalised cx,cy,w,h', async () => {
  const data = new Float32Array([0.5, 0.5, 0.25, 0.5, 0.1, 0.6, 0.1, 0.1, 0.1, 0.1, 0.05, 0.1]);
  const dir = modelDir(constantModel([{ name: 'output0', dims: [1, 2, 6], data }]), {
    decoder: 'rtdetr',
    input: input('stretch'),
  });
  const [dets] = await detectOnce(dir, { width: 640, height: 480 });
  assert.deepEqual(dets.map(rounded), [
    { label: 'car', score: 0.6, box: { x1: 240, y1: 120, x2: 400, y2: 360 } },
  ]);
});

test('boxes-labels-scores: torchvision names, int64 labels', async () => {
  const dir = modelDir(
    constantModel([
      { name: 'boxes', dims: [2, 4], data: new Float32Array([8, 8, 16, 32, 0, 0, 64, 64]) },
      { name: 'labels', dims: [2], data: new BigInt64Array([1n, 0n]), type: DataType.INT64 },
      { name: 'scores', dims: [2], data: new Float32Array([0.95, 0.1]) },
    ]),
    { decoder: 'boxes-labels-scores', input: input('stretch') },
  );
  const [dets] = await detectOnce(dir, { width: 128, height: 128 });
  assert.deepEqual(dets.map(rounded), [
    { label: 'car', score: 0.95, box: { x1: 16, y1: 16, x2: 32, y2: 64 } },
  ]);
});

test('boxes-labels-scores: Detectron2 tracing export, outputs by position (BGR input)', async () => {
  const dir = modelDir(
    constantModel([
      { name: 'output_0', dims: [1, 4], data: new Float32Array([16, 16, 48, 32]) }, // pred_boxes
      { name: 'output_1', dims: [1], data: new BigInt64Array([0n]), type: DataType.INT64 }, // pred_classes
      { name: 'output_2', dims: [1, 1, 2, 2], data: new Float32Array(4) }, // pred_masks
      { name: 'output_3', dims: [1], data: new Float32Array([0.7]) }, // scores
      { name: 'output_4', dims: [2], data: new BigInt64Array([64n, 64n]), type: DataType.INT64 }, // image_size
    ]),
    { decoder: 'boxes-labels-scores', input: { ...input('letterbox'), channels: 'BGR', scale: 255 } },
  );
  // 64x128 (portrait) in 64x64: scaled 32x64, padX 16, scale 2
  const [dets] = await detectOnce(dir, { width: 64, height: 128 });
  assert.deepEqual(dets.map(rounded), [
    { label: 'person', score: 0.7, box: { x1: 0, y1: 32, x2: 64, y2: 64 } },
  ]);
});

test('centernet: 3x3 peaks, top-K order, ties to the lower index, boxes from wh', () => {
  // heatmap [1, 3, 3, 2] NHWC; class 0 has a peak 0.9 at (1,1) suppressing its neighbours,
  // class 1 has equal 0.5 at (0,0) and (2,2) (both peaks; (0,0) first)
  const hm = new Float32Array(18);
  const set = (y: number, x: number, c: number, v: number) => {
    hm[(y * 3 + x) * 2 + c] = v;
  };
  set(1, 1, 0, 0.9);
  set(0, 1, 0, 0.8);
  set(0, 0, 1, 0.5);
  set(2, 2, 1, 0.5);
  const wh = new Float32Array(36).fill(2);
  const [dets] = decodeCenternet(
    [
      { name: 'tower_0/keypoints', dims: [1, 3, 3, 2], data: hm },
      { name: 'tower_0/wh', dims: [1, 3, 3, 4], data: wh },
    ],
    { input: { width: 12, height: 12 }, numClasses: 2, batch: 1, minScore: 0.1 },
  );
  assert.deepEqual(dets, [
    { x1: 2, y1: 2, x2: 6, y2: 6, score: 0.8999999761581421, classId: 0 },
    { x1: -2, y1: -2, x2: 2, y2: 2, score: 0.5, classId: 1 },
    { x1: 6, y1: 6, x2: 10, y2: 10, score: 0.5, classId: 1 },
  ]);
});
