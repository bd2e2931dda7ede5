import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchedBoxF1, matchFrame } from '../../../src/inference/agreement.js';
import type { Detection } from '../../../src/inference/types.js';

const det = (label: string, x1: number, y1: number, x2: number, y2: number, score = 0.9): Detection => ({
  label,
  classId: label === 'person' ? 0 : 41,
  score,
  box: { x1, y1, x2, y2 },
});

test('matchFrame: same label and IoU at or above the threshold match, once each', () => {
  const ref = [det('person', 0, 0, 10, 10), det('cup', 20, 20, 30, 30)];
  // IoU exactly 0.5: (0..10 x 0..10) against (0..10 x 0..20) = 100 / 200
  assert.deepEqual(matchFrame(ref, [det('person', 0, 0, 10, 20)]), { matched: 1, extra: 0, missed: 1 });
  // the label must agree
  assert.deepEqual(matchFrame(ref, [det('cup', 0, 0, 10, 10)]), { matched: 0, extra: 1, missed: 2 });
  // just under the threshold
  assert.deepEqual(matchFrame(ref, [det('person', 0, 0, 10, 21)]), { matched: 0, extra: 1, missed: 2 });
  // two candidates on one reference box: one match, one extra
  assert.deepEqual(matchFrame(ref, [det('person', 0, 0, 10, 10), det('person', 0, 0, 10, 11, 0.5)]), {
    matched: 1,
    extra: 1,
    missed: 1,
  });
});

test('matchFrame: the best-scoring candidate takes the reference box with the highest IoU', () => {
  const ref = [det('person', 0, 0, 10, 10), det('person', 4, 0, 14, 10)];
  // the strong candidate sits between both (IoU 0.82 with the second, 0.54 with the first);
  // the weak one only overlaps the first enough
  const cand = [det('person', 3, 0, 13, 10, 0.9), det('person', 0, 0, 10, 10, 0.3)];
  assert.deepEqual(matchFrame(ref, cand), { matched: 2, extra: 0, missed: 0 });
});

test('matchedBoxF1 sums counts over frames', () => {
  const ref = [[det('person', 0, 0, 10, 10)], [det('cup', 0, 0, 10, 10), det('cup', 50, 50, 60, 60)], []];
  const cand = [[det('person', 1, 0, 11, 10)], [det('cup', 0, 0, 10, 10)], [det('cup', 5, 5, 9, 9)]];
  const a = matchedBoxF1(ref, cand);
  assert.deepEqual([a.matched, a.extra, a.missed], [2, 1, 1]);
  assert.equal(a.precision, 2 / 3);
  assert.equal(a.recall, 2 / 3);
  assert.equal(a.f1, 4 / 6);
});

test('matchedBoxF1: identical sets give 1, empty sets give 1, frame counts must agree', () => {
  const ref = [[det('person', 0, 0, 10, 10)], [det('cup', 3, 3, 9, 9)]];
  assert.equal(matchedBoxF1(ref, ref).f1, 1);
  assert.equal(matchedBoxF1([[], []], [[], []]).f1, 1);
  assert.equal(matchedBoxF1(ref, [[], []]).f1, 0);
  assert.throws(() => matchedBoxF1(ref, [[]]), /2 reference frames against 1 candidate frames/);
});
