import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RawDetection } from '../../../src/inference/nms.js';
import { mapBox, postprocess } from '../../../src/inference/postprocess.js';

const raw = (
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  score: number,
  classId: number,
): RawDetection => ({ x1, y1, x2, y2, score, classId });
const labels = ['person', 'car'];

test('stretch: boxes scale per axis to the original frame', () => {
  const box = mapBox(
    raw(64, 128, 320, 256, 1, 0),
    { width: 1280, height: 720 },
    { width: 640, height: 640, resize: 'stretch' },
  );
  assert.deepEqual(box, { x1: 128, y1: 144, x2: 640, y2: 288 });
});

test('letterbox: padding removed, then scaled; clamped to the frame', () => {
  // 1280x640 in 640x640: scaled 640x320, padY 160
  const input = { width: 640, height: 640, resize: 'letterbox' as const };
  assert.deepEqual(mapBox(raw(100, 200, 300, 400, 1, 0), { width: 1280, height: 640 }, input), {
    x1: 200,
    y1: 80,
    x2: 600,
    y2: 480,
  });
  assert.deepEqual(mapBox(raw(-10, 150, 700, 500, 1, 0), { width: 1280, height: 640 }, input), {
    x1: 0,
    y1: 0,
    x2: 1280,
    y2: 640,
  });
});

test('postprocess: threshold, label filter, NMS, cap, labels', () => {
  const ctx = {
    labels,
    input: { width: 100, height: 100, resize: 'stretch' as const },
    original: { width: 200, height: 100 },
  };
  const dets = [
    raw(0, 0, 10, 10, 0.9, 0),
    raw(1, 0, 11, 10, 0.8, 0),
    raw(0, 0, 10, 10, 0.7, 1),
    raw(50, 50, 60, 60, 0.2, 0),
    raw(20, 20, 30, 30, 0.6, 5),
  ];
  const out = postprocess(dets, ctx);
  assert.deepEqual(
    out.map((d) => [d.label, d.score]),
    [
      ['person', 0.9],
      ['car', 0.7],
      ['class_5', 0.6],
    ],
  );
  assert.deepEqual(out[0].box, { x1: 0, y1: 0, x2: 20, y2: 10 });
  assert.deepEqual(
    postprocess(dets, ctx, { labels: ['car'] }).map((d) => d.label),
    ['car'],
  );
  assert.equal(postprocess(dets, ctx, { minScore: 0.1, maxDetections: 2 }).length, 2);
  assert.equal(postprocess(dets, ctx, { minScore: 0.1 }).length, 4);
  assert.equal(postprocess(dets, ctx, { iouThreshold: 0.95 }).length, 4);
});

test('postprocess drops boxes that lie wholly in the letterbox padding', () => {
  const ctx = {
    labels,
    input: { width: 640, height: 640, resize: 'letterbox' as const },
    original: { width: 1280, height: 640 },
  };
  assert.equal(postprocess([raw(10, 10, 50, 100, 0.9, 0)], ctx).length, 0);
});
