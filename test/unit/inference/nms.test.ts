import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iou, nms, type RawDetection } from '../../../src/inference/nms.js';

const d = (x1: number, y1: number, x2: number, y2: number, score: number, classId = 0): RawDetection => ({
  x1,
  y1,
  x2,
  y2,
  score,
  classId,
});

test('iou of overlapping, disjoint and identical boxes', () => {
  assert.equal(iou(d(0, 0, 10, 10, 1), d(5, 0, 15, 10, 1)), 50 / 150);
  assert.equal(iou(d(0, 0, 10, 10, 1), d(10, 10, 20, 20, 1)), 0);
  assert.equal(iou(d(0, 0, 10, 10, 1), d(0, 0, 10, 10, 1)), 1);
});

test('nms drops same-class overlaps, keeps other classes, sorts by score', () => {
  const kept = nms(
    [d(0, 0, 10, 10, 0.5), d(1, 0, 11, 10, 0.9), d(1, 0, 11, 10, 0.8, 1), d(50, 50, 60, 60, 0.3)],
    0.45,
  );
  assert.deepEqual(
    kept.map((k) => [k.score, k.classId]),
    [
      [0.9, 0],
      [0.8, 1],
      [0.3, 0],
    ],
  );
});

test('nms keeps boxes overlapping at or below the threshold and honours max', () => {
  const a = d(0, 0, 10, 10, 0.9);
  const b = d(5, 0, 15, 10, 0.8); // iou 1/3
  assert.equal(nms([a, b], 0.34).length, 2);
  assert.equal(nms([a, b], 0.3).length, 1);
  assert.equal(nms([a, b, d(100, 100, 110, 110, 0.1)], 0.5, 2).length, 2);
});
