import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combineScores, type EvalFrame, evaluateTracking } from '../../../src/tracking/metrics.js';

const b = (x: number, y = 0, w = 10, h = 10) => ({ x1: x, y1: y, x2: x + w, y2: y + h });
const o = (id: number, x: number, y = 0) => ({ id, box: b(x, y) });

/** Two objects 100 px apart for `n` frames; hypothesis ids from `hypIds(frame)` for [left, right]. */
function twoObjects(n: number, hypIds: (i: number) => [number, number]): EvalFrame[] {
  return Array.from({ length: n }, (_, i) => {
    const [l, r] = hypIds(i);
    return { gt: [o(1, 0), o(2, 100)], hyp: [o(l, 1), o(r, 101)] };
  });
}

describe('CLEAR MOT and IDF1', () => {
  it('scores perfect tracking 1 whatever the hypothesis ids are', () => {
    const s = evaluateTracking(twoObjects(10, () => [7, 9]));
    assert.equal(s.mota, 1);
    assert.equal(s.idf1, 1);
    assert.equal(s.idSwitches, 0);
    assert.equal(s.matches, 20);
    assert.ok(Math.abs(s.motp - 9 / 11) < 1e-12, 'boxes 1 px off: IoU 90 / 110');
  });

  it('counts an identity swap as one switch per object and halves IDF1', () => {
    const s = evaluateTracking(twoObjects(10, (i) => (i < 5 ? [1, 2] : [2, 1])));
    assert.equal(s.idSwitches, 2);
    assert.equal(s.mota, 1 - 2 / 20);
    // each ground-truth id overlaps each hypothesis id on 5 frames: the best pairing keeps 10 of 20
    assert.equal(s.idtp, 10);
    assert.equal(s.idf1, 0.5);
  });

  it('counts misses and false positives', () => {
    const frames = twoObjects(10, () => [1, 2]);
    frames[3].hyp = [frames[3].hyp[0]]; // the right object missed once
    frames[4].hyp.push(o(5, 300)); // something that is not there
    const s = evaluateTracking(frames);
    assert.equal(s.misses, 1);
    assert.equal(s.falsePositives, 1);
    assert.equal(s.mota, 1 - 2 / 20);
    assert.equal(s.precision, 19 / 20);
    assert.equal(s.recall, 19 / 20);
    assert.equal(s.idf1, (2 * 19) / (20 + 20));
  });

  it('keeps a correspondence that still holds even when another hypothesis fits better', () => {
    const frames: EvalFrame[] = [
      { gt: [o(1, 0)], hyp: [{ id: 1, box: b(2) }] },
      {
        gt: [o(1, 0)],
        hyp: [
          { id: 1, box: b(2) },
          { id: 2, box: b(0) },
        ],
      },
    ];
    const s = evaluateTracking(frames);
    assert.equal(s.idSwitches, 0);
    assert.equal(s.falsePositives, 1, 'the better-fitting newcomer is the false positive');
  });

  it('counts a new id after a gap as a switch (CLEAR MOT compares with the last match)', () => {
    const frames: EvalFrame[] = [
      { gt: [o(1, 0)], hyp: [o(1, 0)] },
      { gt: [o(1, 0)], hyp: [] },
      { gt: [o(1, 0)], hyp: [o(2, 0)] },
    ];
    const s = evaluateTracking(frames);
    assert.equal(s.idSwitches, 1);
    assert.equal(s.misses, 1);
    assert.equal(s.mota, 1 - 2 / 3);
    assert.equal(s.idtp, 1);
  });

  it('matches for the most pairs, not the single closest one', () => {
    // gt A and hyp x coincide (IoU 1); hyp y fits A and gt B fits x just above 0.5 (shift 2.9 px).
    // Least cost alone would keep A-x and leave B and y; CLEAR MOT makes the two pairs A-y, B-x.
    const frames: EvalFrame[] = [
      {
        gt: [o(1, 0), o(2, 2.9)],
        hyp: [o(10, 0), o(11, -2.9)],
      },
    ];
    const s = evaluateTracking(frames, 0.5);
    assert.equal(s.matches, 2);
    assert.equal(s.misses, 0);
  });

  it('neither rewards nor punishes a hypothesis on a don’t-care box', () => {
    const frames: EvalFrame[] = [{ gt: [o(1, 0)], hyp: [o(1, 0), o(2, 200)], ignore: [b(200)] }];
    const s = evaluateTracking(frames);
    assert.equal(s.falsePositives, 0);
    assert.equal(s.hypBoxes, 1);
    assert.equal(s.mota, 1);
    assert.equal(s.idf1, 1);
  });

  it('handles empty input', () => {
    const s = evaluateTracking([]);
    assert.equal(s.gtBoxes, 0);
    assert.equal(s.idf1, 1);
    const onlyFp = evaluateTracking([{ gt: [], hyp: [o(1, 0)] }]);
    assert.equal(onlyFp.falsePositives, 1);
    assert.equal(onlyFp.idf1, 0);
  });
});

describe('combineScores', () => {
  it('adds the counts of separate evaluations and recomputes the ratios from them', () => {
    const a = evaluateTracking(twoObjects(10, (i) => (i < 5 ? [1, 2] : [2, 1])));
    const b = evaluateTracking(twoObjects(30, () => [1, 2]));
    const both = combineScores([a, b]);
    assert.equal(both.gtBoxes, 80);
    assert.equal(both.idSwitches, 2);
    assert.equal(both.mota, 1 - 2 / 80);
    assert.equal(both.idf1, (2 * (10 + 60)) / 160);
    assert.ok(Math.abs(both.motp - 9 / 11) < 1e-12);
  });
});
