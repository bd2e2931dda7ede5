import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CUDA_INSTALL_HINT, cudaProviderInstalled } from '../../../src/inference/cuda.js';
import { parseDevice } from '../../../src/inference/device.js';
import { createSession } from '../../../src/inference/onnx-session.js';

test('parseDevice', () => {
  assert.deepEqual(parseDevice('cpu'), [{ kind: 'cpu' }]);
  assert.deepEqual(parseDevice(undefined), [{ kind: 'cpu' }]);
  assert.deepEqual(parseDevice('cuda'), [{ kind: 'cuda', id: 0 }]);
  assert.deepEqual(parseDevice('CUDA:1, 2'), [
    { kind: 'cuda', id: 1 },
    { kind: 'cuda', id: 2 },
  ]);
  assert.deepEqual(parseDevice('cuda:3,3'), [{ kind: 'cuda', id: 3 }]);
  assert.throws(() => parseDevice('gpu:x'), /DETECTOR_DEVICE "gpu:x" is not valid/);
  assert.throws(() => parseDevice('cuda:'), /not valid/);
});

test('a CUDA session without the CUDA provider fails with the install hint', {
  skip: cudaProviderInstalled() && 'CUDA provider installed',
}, async () => {
  assert.match(CUDA_INSTALL_HINT, /web-detector gpu setup/);
  await assert.rejects(
    createSession(new Uint8Array(), { device: { kind: 'cuda', id: 0 } }),
    (err: Error) => err.message === CUDA_INSTALL_HINT,
  );
});
