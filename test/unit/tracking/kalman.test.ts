import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  initiateBox,
  type KalmanBox,
  kalmanToBox,
  predictBox,
  REFERENCE_STEP_SECONDS,
  updateBox,
} from '../../../src/tracking/kalman.js';
import { cholesky, multiply, solveSpd, transpose } from '../../../src/tracking/matrix.js';
import { gaussian, seededRandom } from '../../helpers/random.js';

const box = (cx: number, cy: number, w: number, h: number) => ({
  x1: cx - w / 2,
  y1: cy - h / 2,
  x2: cx + w / 2,
  y2: cy + h / 2,
});

/** Feeds a box moving at (vx, vy) pixels per second, sampled at `fps`, with optional jitter. */
function follow(fps: number, seconds: number, vx: number, vy: number, jitter = 0, seed = 1): KalmanBox {
  const rand = seededRandom(seed);
  let k = initiateBox(box(100, 200, 40, 80));
  for (let i = 1; i <= seconds * fps; i++) {
    const t = i / fps;
    k = predictBox(k, 1 / fps);
    k = updateBox(
      k,
      box(100 + vx * t + jitter * gaussian(rand), 200 + vy * t + jitter * gaussian(rand), 40, 80),
    );
  }
  return k;
}

describe('matrix helpers', () => {
  it('solves a symmetric positive-definite system and factors it', () => {
    const a = [
      [4, 1, 0.5],
      [1, 3, 0.2],
      [0.5, 0.2, 2],
    ];
    const b = [[1], [2], [3]];
    const x = solveSpd(a, b);
    const back = multiply(a, x);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(back[i][0] - b[i][0]) < 1e-12);
    const l = cholesky(a);
    const llt = multiply(l, transpose(l));
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) assert.ok(Math.abs(llt[i][j] - a[i][j]) < 1e-12);
    assert.throws(() => cholesky([[0]]), /positive definite/);
  });
});

describe('box Kalman filter', () => {
  it('starts at the measured box with no velocity', () => {
    const k = initiateBox(box(10, 20, 30, 40));
    assert.deepEqual(k.mean, [10, 20, 30, 40, 0, 0, 0, 0]);
    assert.deepEqual(kalmanToBox(k), box(10, 20, 30, 40));
  });

  it('learns a constant velocity and predicts the next box to within a pixel', () => {
    const k = follow(30, 2, 90, -30); // 3 px and -1 px per 1/30 s
    assert.ok(Math.abs(k.mean[4] - 3) < 0.05, `vx ${k.mean[4]}`);
    assert.ok(Math.abs(k.mean[5] + 1) < 0.05, `vy ${k.mean[5]}`);
    const next = kalmanToBox(predictBox(k, 1 / 30));
    const truth = box(100 + 90 * (61 / 30), 200 - 30 * (61 / 30), 40, 80);
    for (const key of ['x1', 'y1', 'x2', 'y2'] as const) assert.ok(Math.abs(next[key] - truth[key]) < 1);
  });

  it('steps by seconds: the same motion sampled at 10 fps gives the same velocity per reference step', () => {
    const at30 = follow(30, 3, 60, 0);
    const at10 = follow(10, 3, 60, 0);
    const perStep = 60 * REFERENCE_STEP_SECONDS;
    assert.ok(Math.abs(at30.mean[4] - perStep) < 0.05);
    assert.ok(Math.abs(at10.mean[4] - perStep) < 0.05);
    // and predicts a 0.5 s gap to where the box will be
    const ahead = kalmanToBox(predictBox(at10, 0.5));
    assert.ok(Math.abs((ahead.x1 + ahead.x2) / 2 - (100 + 60 * 3.5)) < 1);
  });

  it('smooths jitter: its estimate is closer to the truth than the measurements are', () => {
    const k = follow(30, 3, 30, 30, 3, 7);
    const truthCx = 100 + 30 * 3;
    assert.ok(Math.abs(k.mean[0] - truthCx) < 3, `cx ${k.mean[0]} vs ${truthCx}`);
  });

  it('grows uncertainty with elapsed time, not at all for dt = 0, and shrinks it on update', () => {
    const k = initiateBox(box(0, 0, 50, 50));
    assert.equal(predictBox(k, 0), k);
    assert.equal(predictBox(k, -1), k, 'a timestamp going backwards does not move the filter');
    const short = predictBox(k, 0.1);
    const long = predictBox(k, 1);
    assert.ok(long.cov[0][0] > short.cov[0][0] && short.cov[0][0] > k.cov[0][0]);
    const updated = updateBox(long, box(1, 1, 50, 50));
    assert.ok(updated.cov[0][0] < long.cov[0][0]);
    // still a valid covariance: symmetric and positive definite
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 8; j++) assert.equal(updated.cov[i][j], updated.cov[j][i]);
    assert.doesNotThrow(() => cholesky(updated.cov));
  });

  it('freezes the size velocity of a lost track but keeps it moving', () => {
    let k = initiateBox(box(0, 0, 50, 50));
    for (let i = 1; i <= 30; i++) k = updateBox(predictBox(k, 1 / 30), box(2 * i, 0, 50 + i, 50 + i));
    assert.ok(k.mean[6] > 0.5 && k.mean[4] > 1.5);
    const lost = predictBox(k, 1 / 30, true);
    assert.equal(lost.mean[6], 0);
    assert.equal(lost.mean[7], 0);
    assert.ok(lost.mean[0] > k.mean[0] + 1.5);
  });
});
