/**
 * The converter's ORT-friendly rewrites are exact: MobileNetV3 hard-swish / hard-sigmoid chains
 * become Conv+Clip(+Mul), spatial means become GlobalAveragePool, and a conv whose channel count
 * is not a multiple of 4 is zero-padded when only convs read it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ConstTensor, TfjsGraph, TfNode } from '../../../src/inference/convert/tfjs-graph.js';
import { convertTfjsToOnnx } from '../../../src/inference/convert/tfjs-to-onnx.js';
import { decodeModel } from '../../../src/inference/onnx/proto.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const C6 = 0.16668701171875; // 1/6 as float16, as in the real model
const H = 4;
const W = 4;

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 4 - 2;
  });
}

/** x[1,4,4,2] → conv1x1(2→3)+bias → hard-swish → conv1x1(3→3)+bias → SE (mean, conv, hard-sigmoid, mul)
 *  → conv1x1(3→3)+bias+Relu (padded to 4) → depthwise 3x3 → conv1x1(3→4) */
function graph(): { g: TfjsGraph; w: Record<string, Float32Array> } {
  const weights = new Map<string, ConstTensor>();
  const w: Record<string, Float32Array> = {};
  const k = (name: string, shape: number[], data?: Float32Array) => {
    const d =
      data ??
      rand(
        shape.reduce((a, b) => a * b, 1),
        name.length * 7919,
      );
    w[name] = d;
    weights.set(name, { dtype: 'float32', shape, data: d });
    return { name, op: 'Const' } as TfNode;
  };
  const conv = (name: string, x: string, f: string, bias: string | undefined, ops: string[]): TfNode => ({
    name,
    op: '_FusedConv2D',
    input: bias ? [x, f, bias] : [x, f],
    attr: {
      strides: { list: { i: [1, 1, 1, 1] } },
      padding: { s: b64('SAME') },
      fused_ops: { list: { s: ops.map(b64) } },
    },
  });
  const nodes: TfNode[] = [
    {
      name: 'x',
      op: 'Placeholder',
      attr: { shape: { shape: { dim: [{ size: -1 }, { size: H }, { size: W }, { size: 2 }] } } },
    },
    k('w1', [1, 1, 2, 3]),
    k('b1', [3]),
    k('c', [], new Float32Array([C6])),
    k('three', [], new Float32Array([3])),
    conv('conv1', 'x', 'w1', 'b1', ['BiasAdd']),
    { name: 'hs/mul', op: 'Mul', input: ['c', 'conv1'] },
    { name: 'hs/add', op: 'Add', input: ['conv1', 'three'] },
    { name: 'hs/relu6', op: 'Relu6', input: ['hs/add'] },
    { name: 'hs/out', op: 'Mul', input: ['hs/mul', 'hs/relu6'] },
    k('axes', [2], new Float32Array([1, 2])),
    { name: 'se/mean', op: 'Mean', input: ['hs/out', 'axes'], attr: { keep_dims: { b: true } } },
    k('w2', [1, 1, 3, 3]),
    k('b2', [3]),
    conv('se/conv', 'se/mean', 'w2', 'b2', ['BiasAdd']),
    { name: 'se/add', op: 'Add', input: ['se/conv', 'three'] },
    { name: 'se/relu6', op: 'Relu6', input: ['se/add'] },
    { name: 'se/gate', op: 'Mul', input: ['se/relu6', 'c'] },
    { name: 'se/out', op: 'Mul', input: ['se/gate', 'hs/out'] },
    k('w3', [1, 1, 3, 3]),
    k('b3', [3]),
    conv('conv3', 'se/out', 'w3', 'b3', ['BiasAdd', 'Relu']),
    k('wd', [3, 3, 3, 1]),
    {
      name: 'dw',
      op: 'DepthwiseConv2dNative',
      input: ['conv3', 'wd'],
      attr: { strides: { list: { i: [1, 1, 1, 1] } }, padding: { s: b64('SAME') } },
    },
    k('w4', [1, 1, 3, 4]),
    k('b4', [4]),
    conv('out', 'dw', 'w4', 'b4', ['BiasAdd']),
    { name: 'y', op: 'Identity', input: ['out'] },
  ];
  return { g: { nodes, weights }, w };
}

/** Plain NHWC reference of the same graph (float64). */
function reference(x: Float32Array, w: Record<string, Float32Array>): Float64Array {
  const px = H * W;
  const pw = (
    inp: ArrayLike<number>,
    ci: number,
    co: number,
    f: Float32Array,
    bias: Float32Array,
    n = px,
  ) => {
    const out = new Float64Array(n * co);
    for (let p = 0; p < n; p++)
      for (let o = 0; o < co; o++) {
        let s = bias[o];
        for (let i = 0; i < ci; i++) s += inp[p * ci + i] * f[i * co + o];
        out[p * co + o] = s;
      }
    return out;
  };
  const relu6 = (v: number) => Math.min(Math.max(v, 0), 6);
  const c1 = pw(x, 2, 3, w.w1, w.b1);
  const hs = c1.map((v) => C6 * v * relu6(v + 3));
  const mean = [0, 1, 2].map((c) => {
    let s = 0;
    for (let p = 0; p < px; p++) s += hs[p * 3 + c];
    return s / px;
  });
  const gate = pw(mean, 3, 3, w.w2, w.b2, 1).map((v) => relu6(v + 3) * C6);
  const se = hs.map((v, i) => v * gate[i % 3]);
  const c3 = pw(se, 3, 3, w.w3, w.b3).map((v) => Math.max(v, 0));
  const dw = new Float64Array(px * 3);
  for (let y = 0; y < H; y++)
    for (let xx = 0; xx < W; xx++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let ky = 0; ky < 3; ky++)
          for (let kx = 0; kx < 3; kx++) {
            const iy = y + ky - 1;
            const ix = xx + kx - 1;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W)
              s += c3[(iy * W + ix) * 3 + c] * w.wd[(ky * 3 + kx) * 3 + c];
          }
        dw[(y * W + xx) * 3 + c] = s;
      }
  return pw(dw, 3, 4, w.w4, w.b4);
}

test('hard-swish, SE and channel padding rewrites: ORT-friendly ops, same numbers', async () => {
  const { g, w } = graph();
  const r = convertTfjsToOnnx(g, { outputs: ['y'] });
  const m = decodeModel(r.onnx);
  const ops = m.graph.node.map((n) => n.op_type);
  assert.ok(!ops.includes('Add'), `no elementwise Add left: ${ops}`);
  assert.ok(!ops.includes('ReduceMean'), 'the spatial mean is a GlobalAveragePool');
  assert.ok(ops.includes('GlobalAveragePool'));
  assert.equal(ops.filter((o) => o === 'Clip').length, 2, 'one Clip per hard activation');
  assert.equal(ops.filter((o) => o === 'Mul').length, 2, 'the hard-swish product and the SE scale');
  const init = new Map(m.graph.initializer.map((t) => [t.name, t]));
  const dims = (name: string) => init.get(name)?.dims.map(Number);
  assert.deepEqual(dims('conv3/weights'), [4, 3, 1, 1], 'conv3 writes a 4th, zero channel');
  assert.deepEqual(dims('dw/weights'), [4, 1, 3, 3]);
  assert.deepEqual(dims('out/weights'), [4, 4, 1, 1]);
  assert.equal(r.opCounts.Relu6, 2, 'absorbed nodes are still counted');

  const x = rand(H * W * 2, 42);
  const s = await ort.InferenceSession.create(r.onnx, { graphOptimizationLevel: 'all' });
  const out = (await s.run({ x: new ort.Tensor('float32', x, [1, H, W, 2]) })).y;
  await s.release();
  assert.deepEqual(out.dims, [1, H, W, 4]);
  const ref = reference(x, w);
  const got = out.data as Float32Array;
  for (let i = 0; i < ref.length; i++)
    assert.ok(Math.abs(got[i] - ref[i]) < 1e-4 * (1 + Math.abs(ref[i])), `out[${i}] ${got[i]} vs ${ref[i]}`);
});
