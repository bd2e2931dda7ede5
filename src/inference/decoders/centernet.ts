/**
 * Decoder of the bundled MB3-CenterNet, the TypeScript port of the TF graph's own decoder
 * (the ops after `tower_0/keypoints` and `tower_0/wh`, which we do not convert):
 *   peaks = keypoints where keypoints == maxpool3x3(keypoints)          (SAME, stride 1)
 *   top-K (K = 100) of peaks over the flattened [H, W, C] heatmap, ties to the lower index
 *   box = (x*stride - wh0, y*stride - wh1, x*stride + wh2, y*stride + wh3), class = c
 * Outputs are NHWC: keypoints [B, H, W, C], wh [B, H, W, 4] (already scaled to input pixels).
 */
import { type Decoder, type OutputTensor, type RawDetection, shapeError } from './common.js';

export const CENTERNET_TOP_K = 100;

function isPeak(
  hm: Float32Array,
  base: number,
  H: number,
  W: number,
  C: number,
  y: number,
  x: number,
  c: number,
): boolean {
  const v = hm[base + (y * W + x) * C + c];
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= H) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if (xx < 0 || xx >= W || (dx === 0 && dy === 0)) continue;
      if (hm[base + (yy * W + xx) * C + c] > v) return false;
    }
  }
  return true;
}

/** Top-K heatmap peaks of frame `b`, best first, ties broken by lower flat index like TF's TopKV2. */
export function centernetTopK(
  keypoints: OutputTensor,
  wh: OutputTensor,
  b: number,
  stride: number,
  k = CENTERNET_TOP_K,
  minScore = 0,
): RawDetection[] {
  const [, H, W, C] = keypoints.dims;
  const hm = keypoints.data as Float32Array;
  const box = wh.data as Float32Array;
  const base = b * H * W * C;
  // A sorted array of at most k (score, index); cheap because few values beat the k-th best.
  const scores: number[] = [];
  const idx: number[] = [];
  let floor = minScore;
  const n = H * W * C;
  for (let i = 0; i < n; i++) {
    const v = hm[base + i];
    if (v < floor || (scores.length === k && v <= floor)) continue;
    const c = i % C;
    const p = (i - c) / C;
    const x = p % W;
    const y = (p - x) / W;
    if (!isPeak(hm, base, H, W, C, y, x, c)) continue;
    // insertion point after equal scores keeps lower indices first
    let at = scores.length;
    while (at > 0 && scores[at - 1] < v) at--;
    scores.splice(at, 0, v);
    idx.splice(at, 0, i);
    if (scores.length > k) {
      scores.pop();
      idx.pop();
    }
    if (scores.length === k) floor = scores[k - 1];
  }
  return idx.map((i, j) => {
    const c = i % C;
    const p = (i - c) / C;
    const x = p % W;
    const y = (p - x) / W;
    const o = (b * H * W + p) * 4;
    return {
      x1: x * stride - box[o],
      y1: y * stride - box[o + 1],
      x2: x * stride + box[o + 2],
      y2: y * stride + box[o + 3],
      score: scores[j],
      classId: c,
    };
  });
}

export const decodeCenternet: Decoder = (outputs, ctx) => {
  const keypoints = outputs.find((o) => o.name.includes('keypoints')) ?? outputs[0];
  const wh = outputs.find((o) => o.name.includes('wh')) ?? outputs[1];
  if (keypoints.dims.length !== 4) throw shapeError('centernet', keypoints, '[batch, H, W, classes]');
  if (wh.dims.length !== 4 || wh.dims[3] !== 4) throw shapeError('centernet', wh, '[batch, H, W, 4]');
  const stride = ctx.input.width / keypoints.dims[2];
  const result: RawDetection[][] = [];
  for (let b = 0; b < keypoints.dims[0]; b++)
    result.push(centernetTopK(keypoints, wh, b, stride, CENTERNET_TOP_K, ctx.minScore));
  return result;
};
