import assert from 'node:assert/strict';
import { test } from 'node:test';
import { framesToTensor, framesToUint8Tensor } from '../../../src/inference/preprocess.js';
import type { ModelInput } from '../../../src/inference/types.js';

const base: ModelInput = {
  width: 2,
  height: 1,
  layout: 'NCHW',
  channels: 'RGB',
  scale: 1,
  mean: [0, 0, 0],
  std: [1, 1, 1],
  resize: 'stretch',
};
// two pixels: (255, 0, 51) and (102, 153, 204)
const frame = new Uint8Array([255, 0, 51, 102, 153, 204]);

test('NCHW RGB 0..1: planes in R, G, B order', () => {
  const t = framesToTensor([frame], base);
  assert.deepEqual(t.dims, [1, 3, 1, 2]);
  assert.deepEqual(
    Array.from(t.data, (v) => +v.toFixed(4)),
    [1, 0.4, 0, 0.6, 0.2, 0.8],
  );
});

test('NHWC 0..255 keeps the pixel order', () => {
  const t = framesToTensor([frame], { ...base, layout: 'NHWC', scale: 255 });
  assert.deepEqual(t.dims, [1, 1, 2, 3]);
  assert.deepEqual(Array.from(t.data), [255, 0, 51, 102, 153, 204]);
});

test('BGR swaps channels and mean/std apply in the model channel order', () => {
  const t = framesToTensor([frame], {
    ...base,
    layout: 'NHWC',
    channels: 'BGR',
    scale: 255,
    mean: [100, 0, 0],
    std: [2, 1, 1],
  });
  // channel 0 is B: (51-100)/2, (204-100)/2
  assert.deepEqual(Array.from(t.data), [-24.5, 0, 255, 52, 153, 102]);
});

test('batches frames one after another', () => {
  const t = framesToTensor([frame, new Uint8Array(6).fill(255)], { ...base, scale: 255 });
  assert.deepEqual(t.dims, [2, 3, 1, 2]);
  assert.deepEqual(Array.from(t.data.subarray(6)), [255, 255, 255, 255, 255, 255]);
});

test('rejects a frame of the wrong size', () => {
  assert.throws(
    () => framesToTensor([new Uint8Array(5)], base),
    /Frame 0 has 5 bytes; a 2x1 RGB24 frame has 6/,
  );
});

test('framesToUint8Tensor: the bytes one frame after another, for identity-preprocessing models', () => {
  const input = { ...base, layout: 'NHWC' as const, scale: 255 as const };
  const t = framesToUint8Tensor([frame, new Uint8Array(6).fill(7)], input);
  assert.deepEqual(t.dims, [2, 1, 2, 3]);
  assert.deepEqual(Array.from(t.data), [...frame, 7, 7, 7, 7, 7, 7]);
  assert.throws(() => framesToUint8Tensor([frame], { ...input, layout: 'NCHW' }), /must be NHWC RGB/);
  assert.throws(() => framesToUint8Tensor([frame], { ...input, mean: [1, 0, 0] }), /must be NHWC RGB/);
  assert.throws(() => framesToUint8Tensor([new Uint8Array(5)], input), /Frame 0 has 5 bytes/);
});
