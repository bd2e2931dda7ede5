import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  calibrationIndices,
  evaluationIndices,
  spreadFrames,
  validationIndices,
} from '../../bench/common/frame-sets.js';

test('spreadFrames: evenly spread, in range, never more than the clip has', () => {
  assert.deepEqual(spreadFrames(100, 4, 0), [0, 25, 50, 75]);
  assert.deepEqual(spreadFrames(100, 4, 0.5), [12, 37, 62, 87]);
  assert.deepEqual(spreadFrames(3, 10, 0), [0, 1, 2]);
});

test('calibration, evaluation and validation frames never overlap, even in short clips', () => {
  for (const total of [68, 217, 270, 456, 795]) {
    const c = calibrationIndices(total);
    const e = evaluationIndices(total);
    const v = validationIndices(total);
    assert.equal(new Set([...c, ...e, ...v]).size, c.length + e.length + v.length, `clip of ${total}`);
    assert.equal(e.length, Math.min(48, total - c.length));
    assert.ok([...c, ...e, ...v].every((i) => Number.isInteger(i) && i >= 0 && i < total));
  }
});
