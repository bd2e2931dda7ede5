import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWeights, float16ToFloat32 } from '../../../src/inference/convert/tfjs-graph.js';
import {
  depthwiseToOihw,
  hwioToOihw,
  nhwcToNchw,
  windowGeometry,
} from '../../../src/inference/convert/tfjs-to-onnx.js';
import { GraphBuilder } from '../../../src/inference/onnx/builder.js';
import { DataType, decodeModel } from '../../../src/inference/onnx/proto.js';

test('float16ToFloat32: normal, subnormal, special values', () => {
  assert.equal(float16ToFloat32(0x3c00), 1);
  assert.equal(float16ToFloat32(0xc000), -2);
  assert.equal(float16ToFloat32(0x3555), 0.333251953125);
  assert.equal(float16ToFloat32(0x0001), 2 ** -24);
  assert.equal(float16ToFloat32(0x7c00), Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(float16ToFloat32(0x7e00)));
});

test('decodeWeights: float32, float16, uint8 affine and int32 in manifest order', () => {
  const buf = new ArrayBuffer(4 + 4 + 2 + 8);
  const v = new DataView(buf);
  v.setFloat32(0, 1.5, true);
  v.setUint16(4, 0x3c00, true);
  v.setUint16(6, 0xc000, true);
  v.setUint8(8, 0);
  v.setUint8(9, 10);
  v.setInt32(10, -7, true);
  v.setInt32(14, 3, true);
  const w = decodeWeights(
    [
      { name: 'a', shape: [], dtype: 'float32' },
      {
        name: 'b',
        shape: [2],
        dtype: 'float32',
        quantization: { dtype: 'float16', original_dtype: 'float32' },
      },
      { name: 'c', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
      { name: 'd', shape: [2], dtype: 'int32' },
    ],
    new Uint8Array(buf),
  );
  assert.deepEqual(Array.from(w.get('a')?.data ?? []), [1.5]);
  assert.deepEqual(Array.from(w.get('b')?.data ?? []), [1, -2]);
  assert.deepEqual(Array.from(w.get('c')?.data ?? []), [-1, 4]);
  assert.deepEqual(Array.from(w.get('d')?.data ?? []), [-7, 3]);
  assert.ok(w.get('d')?.data instanceof Int32Array);
  assert.throws(
    () => decodeWeights([{ name: 'a', shape: [8], dtype: 'float32' }], new Uint8Array(4)),
    /runs past the end/,
  );
});

test('windowGeometry: TF SAME puts the odd padding at the end', () => {
  // 512 stride 2, k3: out 256, total pad 1 -> 0 before, 1 after
  assert.deepEqual(windowGeometry(512, 512, [3, 3], [2, 2], [1, 1], 'SAME'), {
    outH: 256,
    outW: 256,
    pads: [0, 0, 1, 1],
  });
  // 7 stride 2, k3: out 4, total 2 -> 1, 1; width 9 stride 2 k5: out 5, total 4 -> 2, 2
  assert.deepEqual(windowGeometry(7, 9, [3, 5], [2, 2], [1, 1], 'SAME'), {
    outH: 4,
    outW: 5,
    pads: [1, 2, 1, 2],
  });
  // 5 stride 1 k4: total 3 -> 1 before, 2 after
  assert.deepEqual(windowGeometry(5, 5, [4, 4], [1, 1], [1, 1], 'SAME'), {
    outH: 5,
    outW: 5,
    pads: [1, 1, 2, 2],
  });
  assert.deepEqual(windowGeometry(7, 7, [3, 3], [2, 2], [1, 1], 'VALID'), {
    outH: 3,
    outW: 3,
    pads: [0, 0, 0, 0],
  });
  assert.deepEqual(windowGeometry(7, 7, [3, 3], [1, 1], [2, 2], 'EXPLICIT', [1, 0, 2, 0]), {
    outH: 6,
    outW: 3,
    pads: [1, 0, 2, 0],
  });
});

test('weight layout transposes', () => {
  // HWIO [1,2,2,3]: value = 100*y... encode (x, i, o) as x*100 + i*10 + o
  const f = new Float32Array(12);
  for (let x = 0; x < 2; x++)
    for (let i = 0; i < 2; i++) for (let o = 0; o < 3; o++) f[(x * 2 + i) * 3 + o] = x * 100 + i * 10 + o;
  const w = hwioToOihw(f, [1, 2, 2, 3]); // [3,2,1,2]
  assert.deepEqual(Array.from(w.subarray(0, 4)), [0, 100, 10, 110]);
  assert.equal(w[((2 * 2 + 1) * 1 + 0) * 2 + 1], 112);
  // depthwise [1,1,C=2,M=2] -> out channel c*M+m
  assert.deepEqual(Array.from(depthwiseToOihw(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2])), [1, 2, 3, 4]);
  const dw = depthwiseToOihw(new Float32Array([1, 2, 3, 4]), [2, 1, 2, 1]); // y,c: [[1,2],[3,4]] -> c0:[1,3] c1:[2,4]
  assert.deepEqual(Array.from(dw), [1, 3, 2, 4]);
  assert.deepEqual(
    Array.from(nhwcToNchw(new Float32Array([1, 2, 3, 4, 5, 6]), [1, 1, 2, 3])),
    [1, 4, 2, 5, 3, 6],
  );
});

test('GraphBuilder writes a ModelProto that decodes back', () => {
  const b = new GraphBuilder('g');
  b.input('x', DataType.FLOAT, ['batch', 2]);
  const w = b.initializer('w', [2], new Float32Array([1, 2]));
  b.opMulti('Mul', ['x', w], ['y']);
  b.output('y', DataType.FLOAT, ['batch', 2]);
  const m = decodeModel(b.encode({ opset: 13 }));
  assert.equal(m.opset, 13);
  assert.deepEqual(
    m.graph.node.map((n) => n.op_type),
    ['Mul'],
  );
  assert.deepEqual(
    m.graph.input.map((i) => i.name),
    ['x'],
  );
  assert.deepEqual(m.graph.initializer[0].dims, [2]);
});
