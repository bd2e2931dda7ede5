import type { Box } from '../inference/types.js';
import { diag, type Matrix, solveSpd, symmetrize } from './matrix.js';

/**
 * A constant-velocity Kalman filter on one box: state (cx, cy, w, h, vx, vy, vw, vh), measurement
 * (cx, cy, w, h). Width and height rather than DeepSORT's aspect ratio, as BoT-SORT does: a
 * walking person's width changes from frame to frame more than their height.
 *
 * Time: frames may be sampled (`fps`) or variable-rate, so the filter steps by elapsed seconds, not
 * by frames. Velocities are in pixels per reference step (1/30 s) and the noise levels are those
 * ByteTrack tuned for 30 fps video (position 1/20 and velocity 1/160 of the box size per frame);
 * a gap of `dt` seconds is dt*30 reference steps, and the process noise added grows linearly with
 * it (a random walk), so a 10 fps video gets three steps' worth of uncertainty per frame.
 */

export interface KalmanBox {
  mean: number[]; // 8
  cov: Matrix; // 8x8
}

export const REFERENCE_STEP_SECONDS = 1 / 30;
const POS_WEIGHT = 1 / 20;
const VEL_WEIGHT = 1 / 160;

function boxToMeasurement(b: Box): number[] {
  return [(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2, b.x2 - b.x1, b.y2 - b.y1];
}

/** Noise scales with the box: a pixel of jitter matters less on a big box than on a small one. */
function sizes(w: number, h: number): [number, number] {
  return [Math.max(1, Math.abs(w)), Math.max(1, Math.abs(h))];
}

export function initiateBox(box: Box): KalmanBox {
  const z = boxToMeasurement(box);
  const [w, h] = sizes(z[2], z[3]);
  const p = [2 * POS_WEIGHT * w, 2 * POS_WEIGHT * h, 2 * POS_WEIGHT * w, 2 * POS_WEIGHT * h];
  const v = [10 * VEL_WEIGHT * w, 10 * VEL_WEIGHT * h, 10 * VEL_WEIGHT * w, 10 * VEL_WEIGHT * h];
  return { mean: [...z, 0, 0, 0, 0], cov: diag([...p, ...v].map((s) => s * s)) };
}

/**
 * The filter moved `dt` seconds ahead. `freezeSize` drops the size velocity first (for a track
 * that lost its object: its box should drift on its path, not grow or shrink without evidence).
 *
 * With F = [[I, uI], [0, I]] (u = steps) and P = [[A, B], [C, D]] in 4x4 blocks, F P Fᵀ is
 * [[A + u(B + C) + u²D, B + uD], [C + uD, D]]: written out rather than multiplied (the tracker
 * predicts every track on every frame).
 */
export function predictBox(k: KalmanBox, dt: number, freezeSize = false): KalmanBox {
  const u = Math.max(0, dt) / REFERENCE_STEP_SECONDS;
  if (u === 0) return k;
  const mean = [...k.mean];
  if (freezeSize) {
    mean[6] = 0;
    mean[7] = 0;
  }
  for (let i = 0; i < 4; i++) mean[i] += u * mean[i + 4];
  const [w, h] = sizes(mean[2], mean[3]);
  const sp = [POS_WEIGHT * w, POS_WEIGHT * h, POS_WEIGHT * w, POS_WEIGHT * h];
  const sv = [VEL_WEIGHT * w, VEL_WEIGHT * h, VEL_WEIGHT * w, VEL_WEIGHT * h];
  const p = k.cov;
  const cov: Matrix = p.map((row) => [...row]);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      const d = p[i + 4][j + 4];
      cov[i][j] = p[i][j] + u * (p[i][j + 4] + p[i + 4][j]) + u * u * d;
      cov[i][j + 4] = p[i][j + 4] + u * d;
      cov[i + 4][j] = p[i + 4][j] + u * d;
    }
    cov[i][i] += sp[i] * sp[i] * u; // process noise grows with the time elapsed
    cov[i + 4][i + 4] += sv[i] * sv[i] * u;
  }
  return { mean, cov: symmetrize(cov) };
}

/**
 * The filter corrected by a measured box. H picks the first four state entries, so H P is P's
 * top four rows, the innovation covariance S = H P Hᵀ + R its top-left block plus R, the gain
 * K = P Hᵀ S⁻¹ = (S⁻¹ H P)ᵀ, and the corrected covariance P - K S Kᵀ = P - K (H P).
 */
export function updateBox(k: KalmanBox, box: Box): KalmanBox {
  const z = boxToMeasurement(box);
  const [w, h] = sizes(k.mean[2], k.mean[3]);
  const r = [POS_WEIGHT * w, POS_WEIGHT * h, POS_WEIGHT * w, POS_WEIGHT * h];
  const hp = k.cov.slice(0, 4); // 4x8
  const s = hp.map((row, i) => row.slice(0, 4).map((x, j) => (i === j ? x + r[i] * r[i] : x)));
  const x = solveSpd(s, hp); // S⁻¹ H P, 4x8; K = xᵀ
  const innovation = z.map((v, i) => v - k.mean[i]);
  const mean = k.mean.map((m, i) => m + x.reduce((acc, row, j) => acc + row[i] * innovation[j], 0));
  const cov = k.cov.map((row, i) =>
    row.map(
      (v, j) => v - (x[0][i] * hp[0][j] + x[1][i] * hp[1][j] + x[2][i] * hp[2][j] + x[3][i] * hp[3][j]),
    ),
  );
  return { mean, cov: symmetrize(cov) };
}

export function kalmanToBox(k: KalmanBox): Box {
  const [cx, cy, w, h] = k.mean;
  return { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 };
}
