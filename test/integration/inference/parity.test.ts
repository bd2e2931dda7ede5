/**
 * The converted CenterNet (ONNX Runtime) against the original TF.js graph (TF.js wasm backend) on
 * the fixture photos: raw outputs to ~1e-4, and detections equal to the graph's own decoder output
 * `tower_0/detections` and to the fixture README's table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { COCO_LABELS } from '../../../src/inference/coco-labels.js';
import { convertCenternet } from '../../../src/inference/convert/default-model.js';
import { centernetTopK } from '../../../src/inference/decoders/centernet.js';
import { CENTERNET_JSON, decodeRgb, fixture } from './helpers/fixtures.js';
import { initTfjs, loadGraphModelFromFile, runTfjs, type tf } from './helpers/tfjs-reference.js';

const EXPECTED: Record<string, [string, number][]> = {
  'astronaut.png': [
    ['person', 0.61],
    ['person', 0.26],
  ],
  'chelsea.png': [
    ['dog', 0.47],
    ['dog', 0.36],
    ['bed', 0.26],
  ],
  'coffee.png': [
    ['cup', 0.44],
    ['cup', 0.43],
    ['dining table', 0.42],
    ['cup', 0.32],
  ],
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; magnitude: number } {
  assert.equal(a.length, b.length);
  let diff = 0;
  let magnitude = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    magnitude = Math.max(magnitude, Math.abs(b[i]));
  }
  return { diff, magnitude };
}

describe('CenterNet: ONNX port vs TF.js', () => {
  let session: ort.InferenceSession;
  let model: tf.GraphModel;
  let backend: string;

  before(async () => {
    backend = await initTfjs('wasm');
    model = await loadGraphModelFromFile(CENTERNET_JSON);
    const converted = await convertCenternet(CENTERNET_JSON);
    session = await ort.InferenceSession.create(converted.onnx, { graphOptimizationLevel: 'all' });
  });
  after(async () => {
    await session?.release();
    model?.dispose();
  });

  for (const [name, expected] of Object.entries(EXPECTED)) {
    test(`${name}: raw outputs and detections match`, async () => {
      assert.equal(backend, 'wasm');
      const rgb = decodeRgb(fixture(name));
      const x = Float32Array.from(rgb);
      const [kpRef, whRef, detRef] = await runTfjs(
        model,
        x,
        [1, 512, 512, 3],
        ['tower_0/keypoints', 'tower_0/wh', 'tower_0/detections'],
      );
      const out = await session.run({ 'tower_0/images': new ort.Tensor('float32', x, [1, 512, 512, 3]) });
      const kp = out['tower_0/keypoints'];
      const wh = out['tower_0/wh'];
      assert.deepEqual(kp.dims, [1, 128, 128, 80]);
      assert.deepEqual(wh.dims, [1, 128, 128, 4]);

      // Heatmap is a sigmoid (0..1): absolute. wh is in pixels (x16 in the graph): relative to its range.
      const k = maxAbsDiff(kp.data as Float32Array, kpRef);
      assert.ok(k.diff < 1e-4, `keypoints max abs diff ${k.diff}`);
      const w = maxAbsDiff(wh.data as Float32Array, whRef);
      assert.ok(w.diff / w.magnitude < 1e-4, `wh max abs diff ${w.diff} of ${w.magnitude}`);

      // Our TypeScript decoder on the ONNX outputs = the graph's decoder on TF.js's.
      const dets = centernetTopK(
        { name: 'keypoints', dims: kp.dims, data: kp.data as Float32Array },
        { name: 'wh', dims: wh.dims, data: wh.data as Float32Array },
        0,
        4,
        100,
      );
      assert.equal(dets.length, 100);
      for (let i = 0; i < 100; i++) {
        const ref = detRef.subarray(i * 6, i * 6 + 6);
        const d = dets[i];
        if (ref[4] < 0.05) break; // the order of near-zero ties is not meaningful
        assert.equal(d.classId, ref[5], `detection ${i} class`);
        assert.ok(Math.abs(d.score - ref[4]) < 1e-4, `detection ${i} score ${d.score} vs ${ref[4]}`);
        for (const [j, v] of [d.x1, d.y1, d.x2, d.y2].entries())
          assert.ok(Math.abs(v - ref[j]) < 1e-2, `detection ${i} coord ${j}: ${v} vs ${ref[j]}`);
      }

      const top = dets.filter((d) => d.score > 0.25).map((d) => [COCO_LABELS[d.classId], d.score] as const);
      assert.deepEqual(
        top.map(([l]) => l),
        expected.map(([l]) => l),
      );
      // The README table is rounded to 2 decimals; the 1e-4 agreement with TF.js is checked above.
      assert.deepEqual(
        top.map(([, s]) => Math.round(s * 100) / 100),
        expected.map(([, s]) => s),
      );
    });
  }
});
