import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { float32ToFloat16, toFloat16Graph } from '../../../src/inference/convert/fp16.js';
import { float16ToFloat32 } from '../../../src/inference/convert/tfjs-graph.js';
import { GraphBuilder } from '../../../src/inference/onnx/builder.js';
import { DataType, decodeGraph, encodeModel, type GraphMsg } from '../../../src/inference/onnx/proto.js';
import { percentileRange, RangeCollector } from '../../../src/inference/quantize/calibrate.js';
import {
  applyEqualization,
  equalizationGroups,
  equalizationScales,
  foldChannelAbsMax,
} from '../../../src/inference/quantize/equalize.js';
import { withUint8Input } from '../../../src/inference/quantize/input.js';
import {
  activationsToQuantize,
  quantizeConvParams,
  quantizeGraph,
  uint8Params,
} from '../../../src/inference/quantize/qdq.js';

/** A small deterministic pseudo-random sequence (tests must not depend on Math.random). */
function values(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648 - 0.5) * 2 * scale;
  }
  return out;
}

/**
 * x [1,4,8,8] → Conv 3x3 (4→8) + bias → Relu → depthwise 3x3 (8) → Relu → GlobalAveragePool-gated
 * Mul (squeeze-excite shape) → Conv 1x1 (8→4) → Add with x → output. Node names are the
 * builder's (Conv_0 is c1, Conv_2 dw, Conv_5 se, Conv_8 proj). With `big`, channel 2 of the first
 * conv is that many times larger than the rest: the case equalization is for.
 */
function smallNet(big = 1): GraphMsg {
  const b = new GraphBuilder('small');
  const x = b.input('x', DataType.FLOAT, [1, 4, 8, 8]);
  const w1 = values(8 * 4 * 9, 1, 0.5);
  for (let i = 2 * 36; i < 3 * 36; i++) w1[i] *= big;
  const c1 = b.op(
    'Conv',
    [x, b.initializer('w1', [8, 4, 3, 3], w1), b.initializer('b1', [8], values(8, 2))],
    'c1',
    {
      kernel_shape: { ints: [3, 3] },
      pads: { ints: [1, 1, 1, 1] },
    },
  );
  const r1 = b.op('Relu', [c1], 'r1');
  const dw = b.op(
    'Conv',
    [r1, b.initializer('w2', [8, 1, 3, 3], values(72, 3)), b.initializer('b2', [8], values(8, 4))],
    'dw',
    {
      kernel_shape: { ints: [3, 3] },
      pads: { ints: [1, 1, 1, 1] },
      group: { i: 8 },
    },
  );
  const r2 = b.op('Relu', [dw], 'r2');
  const gap = b.op('GlobalAveragePool', [r2], 'gap');
  const se = b.op('Conv', [gap, b.initializer('w3', [8, 8, 1, 1], values(64, 5, 0.1))], 'se', {
    kernel_shape: { ints: [1, 1] },
  });
  const gate = b.op('Sigmoid', [se], 'gate');
  const gated = b.op('Mul', [r2, gate], 'gated');
  const proj = b.op('Conv', [gated, b.initializer('w4', [4, 8, 1, 1], values(32, 6))], 'proj', {
    kernel_shape: { ints: [1, 1] },
  });
  const y = b.op('Add', [proj, x], 'y');
  b.output(y, DataType.FLOAT, [1, 4, 8, 8]);
  return decodeGraph(b.encode()).graph;
}

const INPUT = values(4 * 64, 7, 2);

async function run(g: GraphMsg, level: 'all' | 'disabled' = 'all', input: Float32Array | Uint8Array = INPUT) {
  const s = await ort.InferenceSession.create(encodeModel(g, { opset: 13, producer: 'test' }), {
    graphOptimizationLevel: level,
  });
  const x =
    input instanceof Uint8Array
      ? new ort.Tensor('uint8', input, [1, 4, 8, 8])
      : new ort.Tensor('float32', input, [1, 4, 8, 8]);
  const out = (await s.run({ x }))[s.outputNames[0]].data as Float32Array;
  await s.release();
  return out;
}

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

async function observedRanges(g: GraphMsg, tensors: string[]) {
  const probe = {
    ...g,
    outputs: [...g.outputs, ...tensors.map((name) => ({ name, elemType: DataType.FLOAT }))],
  };
  const s = await ort.InferenceSession.create(encodeModel(probe, { opset: 13, producer: 'test' }));
  const res = await s.run({ x: new ort.Tensor('float32', INPUT, [1, 4, 8, 8]) });
  const c = new RangeCollector();
  for (const t of tensors) c.observe(t, res[t].data as Float32Array);
  await s.release();
  return c.ranges('minmax');
}

test('uint8Params: zero is exact, degenerate ranges get scale 1', () => {
  assert.deepEqual(uint8Params({ min: 0, max: 255 }), { scale: 1, zeroPoint: 0 });
  const p = uint8Params({ min: -1, max: 3 });
  assert.equal(p.scale, 4 / 255);
  assert.equal(p.zeroPoint, Math.round(255 / 4));
  // a positive-only range still includes 0
  assert.deepEqual(uint8Params({ min: 2, max: 2 + 255 }), { scale: 257 / 255, zeroPoint: 0 });
  assert.deepEqual(uint8Params({ min: 0, max: 0 }), { scale: 1, zeroPoint: 0 });
});

test('quantizeConvParams: symmetric per channel; a huge bias widens its channel scale', () => {
  const w = new Float32Array([1, -0.5, 0.25, 0, 0, 0, 2, -4]);
  const q = quantizeConvParams(w, 2);
  assert.deepEqual(
    Array.from(q.weightScales),
    [1 / 127, 4 / 127].map((x) => Math.fround(x)),
  );
  assert.deepEqual(Array.from(q.weights), [127, -64, 32, 0, 0, 0, 64, -127]);
  const zero = quantizeConvParams(new Float32Array(4), 2);
  assert.deepEqual(Array.from(zero.weightScales), [1, 1]);
  const big = quantizeConvParams(w, 2, { values: new Float32Array([0.5, 1e9]), inputScale: 1e-3 });
  assert.equal(big.bias?.[0], Math.round(0.5 / Math.fround((1e-3 * 1) / 127)));
  assert.ok(Math.abs(big.bias?.[1] ?? 0) <= 2 ** 31 - 1);
  assert.ok((big.weightScales[1] ?? 0) > 4 / 127, 'the channel scale grew');
  assert.throws(() => quantizeConvParams(w, 3), /do not split into 3 channels/);
});

test('activationsToQuantize: Relu after a conv is folded, graph outputs stay float', () => {
  const t = activationsToQuantize(smallNet());
  assert.ok(t.includes('x'));
  assert.ok(t.includes('r1') && !t.includes('c1'), 'c1 (read only by Relu) is folded into r1');
  assert.ok(!t.includes('y'), 'the graph output is not quantized');
  assert.deepEqual(activationsToQuantize(smallNet(), { keepFloat: ['r1'] }).includes('r1'), false);
});

test('quantizeGraph: QDQ that ONNX Runtime fuses into QLinearConv and stays close to fp32', async () => {
  const g = smallNet();
  const ranges = await observedRanges(g, activationsToQuantize(g));
  const q = quantizeGraph(g, ranges);
  const ops = q.nodes.map((n) => n.op_type);
  assert.equal(ops.filter((o) => o === 'Conv').length, 4);
  const weightDq = q.initializers.filter((t) => t.data_type === DataType.INT8);
  assert.equal(weightDq.length, 4 * 2, 'int8 weights and int8 zero points of 4 convs');
  assert.ok(!q.initializers.some((t) => t.name === 'w1'), 'the float weights are gone');
  const fp32 = await run(g);
  const simulated = await run(q, 'disabled');
  const fused = await run(q, 'all');
  const scale = maxAbs(fp32);
  assert.ok(
    maxDiff(fp32, simulated) < 0.05 * scale,
    `simulated error ${maxDiff(fp32, simulated)} of ${scale}`,
  );
  // ONNX Runtime's fused u8s8 kernels are exact only with VNNI (vpdpbusd). On AVX2 without it
  // they sum pairs of u8*s8 products in int16 (vpmaddubsw), which saturates: the known 8-bit
  // "saturation issue" of older x86 CPUs, so there the fused result may drift further from fp32.
  // The quantization itself is checked exactly above (simulated, no fusion) on every CPU.
  const fusedBound = cpuHasVnni() ? 0.05 : 0.25;
  assert.ok(
    maxDiff(fp32, fused) < fusedBound * scale,
    `fused error ${maxDiff(fp32, fused)} of ${scale} (VNNI: ${cpuHasVnni()})`,
  );
  // what ONNX Runtime made of it
  const file = join(tmpdir(), `wd-qdq-${process.pid}.onnx`);
  const s = await ort.InferenceSession.create(encodeModel(q, { opset: 13, producer: 'test' }), {
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: file,
  });
  await s.release();
  const optimized = decodeGraph(readFileSync(file)).graph.nodes.map((n) => n.op_type);
  rmSync(file, { force: true });
  assert.equal(optimized.filter((o) => o === 'QLinearConv').length, 4, optimized.join(','));
  assert.ok(!optimized.includes('Conv'));
  assert.throws(() => quantizeGraph(g, {}), /No calibrated range for tensor x/);
});

test('withUint8Input: the input QuantizeLinear goes, the model reads bytes and gives the same result', async () => {
  const g = smallNet();
  const ranges = { ...(await observedRanges(g, activationsToQuantize(g))), x: { min: 0, max: 255 } };
  const q = quantizeGraph(g, ranges);
  const u8 = withUint8Input(q);
  assert.equal(u8.inputs[0].elemType, DataType.UINT8);
  assert.equal(u8.nodes.filter((n) => n.op_type === 'QuantizeLinear' && n.input[0] === 'x').length, 0);
  const bytes = Uint8Array.from(INPUT, (v) => Math.round(Math.abs(v) * 100) % 256);
  const asFloat = Float32Array.from(bytes);
  assert.deepEqual(await run(u8, 'all', bytes), await run(q, 'all', asFloat));
  const badScale = quantizeGraph(g, { ...ranges, x: { min: 0, max: 10 } });
  assert.throws(() => withUint8Input(badScale), /not quantized with scale 1 and zero point 0/);
});

test('equalization: finds the conv→relu→depthwise and squeeze-excite groups and keeps the function', async () => {
  const g = smallNet();
  const groups = equalizationGroups(g);
  const byKey = new Map(groups.map((x) => [x.key, x]));
  assert.deepEqual(byKey.get('c1')?.tensors, ['c1', 'r1']);
  assert.deepEqual(byKey.get('c1')?.producers, ['Conv_0']);
  assert.deepEqual(byKey.get('c1')?.readers, ['Conv_2']);
  assert.equal(byKey.get('c1')?.depthwiseReadersOnly, true);
  // the depthwise output reaches the projection through GAP (read by the SE conv) and the gate Mul
  assert.deepEqual(byKey.get('dw')?.tensors, ['dw', 'r2', 'gap', 'gated']);
  assert.deepEqual(byKey.get('dw')?.readers.sort(), ['Conv_5', 'Conv_8']);
  // the projection's output meets the graph input in an Add: not scalable
  assert.equal(byKey.has('proj'), false);
  const scales = Object.fromEntries(
    groups.map((x) => [x.key, Float32Array.from({ length: x.channels }, (_, i) => 1 + i)]),
  );
  const eq = applyEqualization(g, groups, scales);
  const before = await run(g);
  assert.ok(maxDiff(before, await run(eq)) < 1e-4 * maxAbs(before));
  assert.notDeepEqual(
    eq.initializers.find((t) => t.name === 'w1')?.raw_data,
    g.initializers.find((t) => t.name === 'w1')?.raw_data,
  );
  assert.throws(() => applyEqualization(g, groups, { c1: [1, 2] }), /8 channels but 2 scales/);
});

test('equalization makes a net with one 50x channel quantize much better', async () => {
  const g = smallNet(50);
  const fp32 = await run(g);
  const error = async (graph: GraphMsg) => {
    const ranges = await observedRanges(graph, activationsToQuantize(graph));
    return maxDiff(fp32, await run(quantizeGraph(graph, ranges), 'disabled'));
  };
  const groups = equalizationGroups(g);
  const probe = {
    ...g,
    outputs: [
      ...g.outputs,
      ...groups.flatMap((x) => x.tensors).map((name) => ({ name, elemType: DataType.FLOAT })),
    ],
  };
  const s = await ort.InferenceSession.create(encodeModel(probe, { opset: 13, producer: 'test' }));
  const res = await s.run({ x: new ort.Tensor('float32', INPUT, [1, 4, 8, 8]) });
  await s.release();
  const scales: Record<string, Float32Array> = {};
  for (const x of groups) {
    const m = new Float64Array(x.channels);
    for (const t of x.tensors) foldChannelAbsMax(m, res[t].data as Float32Array, res[t].dims);
    scales[x.key] = equalizationScales(m, x.depthwiseReadersOnly ? 1 : 0.5);
  }
  const plain = await error(g);
  const equalized = await error(applyEqualization(g, groups, scales));
  assert.ok(equalized < plain / 2, `error ${equalized} with equalization, ${plain} without`);
});

test('equalizationScales and foldChannelAbsMax', () => {
  assert.deepEqual(Array.from(equalizationScales([1, 4, 0, 16], 0.5)), [4, 2, 1, 1]);
  assert.deepEqual(Array.from(equalizationScales([1, 1000], 1, 256)), [256, 1]);
  const m = new Float64Array(2);
  foldChannelAbsMax(m, new Float32Array([1, -3, 2, 0.5, 7, -1, 0, -8]), [2, 2, 2]);
  assert.deepEqual(Array.from(m), [7, 8]);
  assert.throws(
    () => foldChannelAbsMax(new Float64Array(3), new Float32Array(4), [1, 2, 2]),
    /2-channel tensor/,
  );
});

test('RangeCollector: min/max, then percentile ranges from histograms', () => {
  const c = new RangeCollector();
  const data = Float32Array.from({ length: 10000 }, (_, i) => i / 100); // 0 .. 99.99
  data[9999] = 1000; // one outlier
  c.observe('t', data);
  assert.deepEqual(c.ranges('minmax').t, { min: 0, max: 1000 });
  assert.throws(() => c.histogram('t', data), /before its first pass/);
  c.startSecondPass();
  c.histogram('t', data);
  const p = c.ranges('percentile', 99.9).t;
  assert.equal(p.min, 0, 'a non-negative minimum is kept');
  assert.ok(p.max > 99 && p.max < 101, `the outlier is cut: ${p.max}`);
  assert.deepEqual(percentileRange([0, 0], -1, 1, 99), { min: -1, max: 1 });
});

test('float32ToFloat16: exact values, rounding to even, subnormals, overflow', () => {
  for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, 0.333251953125])
    assert.equal(float16ToFloat32(float32ToFloat16(v)), v, `${v}`);
  assert.equal(float32ToFloat16(1 + 2 ** -11), 0x3c00, 'a tie rounds to even (down)');
  assert.equal(float32ToFloat16(1 + 3 * 2 ** -11), 0x3c02, 'a tie rounds to even (up)');
  assert.equal(float32ToFloat16(1e6), 0x7c00);
  assert.equal(float32ToFloat16(-1e-9), 0x8000);
  assert.ok(Number.isNaN(float16ToFloat32(float32ToFloat16(Number.NaN))));
});

test('toFloat16Graph: float32 edges, float16 inside, Resize scales stay float32', async () => {
  const b = new GraphBuilder('r');
  const x = b.input('x', DataType.FLOAT, [1, 4, 8, 8]);
  const c = b.op('Conv', [x, b.initializer('w', [4, 4, 1, 1], values(16, 9))], 'c', {
    kernel_shape: { ints: [1, 1] },
  });
  const r = b.op('Resize', [c, '', b.initializer('scales', [4], new Float32Array([1, 1, 2, 2]))], 'r', {
    mode: { s: 'linear' },
  });
  b.output(r, DataType.FLOAT, [1, 4, 16, 16]);
  const g = decodeGraph(b.encode()).graph;
  const h = toFloat16Graph(g);
  assert.equal(h.nodes[0].op_type, 'Cast');
  assert.equal(h.nodes[h.nodes.length - 1].op_type, 'Cast');
  assert.equal(h.nodes[h.nodes.length - 1].output[0], 'r');
  assert.equal(h.initializers.find((t) => t.name === 'w')?.data_type, DataType.FLOAT16);
  assert.equal(h.initializers.find((t) => t.name === 'scales')?.data_type, DataType.FLOAT);
  const s32 = await ort.InferenceSession.create(encodeModel(g, { opset: 13, producer: 't' }));
  const s16 = await ort.InferenceSession.create(encodeModel(h, { opset: 13, producer: 't' }));
  const input = new ort.Tensor('float32', INPUT, [1, 4, 8, 8]);
  const a = (await s32.run({ x: input })).r.data as Float32Array;
  const out = await s16.run({ x: input });
  assert.equal(out.r.type, 'float32');
  assert.ok(maxDiff(a, out.r.data as Float32Array) < 0.01 * maxAbs(a));
  const u8 = toFloat16Graph(g, { uint8Input: true });
  assert.equal(u8.inputs[0].elemType, DataType.UINT8);
  const s8 = await ort.InferenceSession.create(encodeModel(u8, { opset: 13, producer: 't' }));
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i % 256);
  const fromBytes = (await s8.run({ x: new ort.Tensor('uint8', bytes, [1, 4, 8, 8]) })).r
    .data as Float32Array;
  const fromFloats = (await s16.run({ x: new ort.Tensor('float32', Float32Array.from(bytes), [1, 4, 8, 8]) }))
    .r.data as Float32Array;
  assert.deepEqual(fromBytes, fromFloats, 'uint8 → float16 is exact for 0..255');
});

/** Whether this CPU has 8-bit dot-product instructions (AVX512-VNNI or AVX-VNNI). */
function cpuHasVnni(): boolean {
  try {
    return /\b(avx512_vnni|avx_vnni)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}
