/** RT-DETR (ultralytics export): `[B, K, 4+nc]`, boxes cx, cy, w, h normalised to 0..1, class scores already sigmoid-ed. */
import { type Decoder, type RawDetection, shapeError, toNumbers } from './common.js';

export const decodeRtdetr: Decoder = (outputs, ctx) => {
  const t = outputs[0];
  if (t.dims.length !== 3 || t.dims[2] < 5) throw shapeError('rtdetr', t, '[batch, queries, 4+classes]');
  const [B, K, A] = t.dims;
  const { width: W, height: H } = ctx.input;
  const d = toNumbers(t.data);
  const result: RawDetection[][] = [];
  for (let b = 0; b < B; b++) {
    const dets: RawDetection[] = [];
    for (let k = 0; k < K; k++) {
      const o = (b * K + k) * A;
      let best = 0;
      let score = Number.NEGATIVE_INFINITY;
      for (let c = 4; c < A; c++) if (d[o + c] > score) [score, best] = [d[o + c], c - 4];
      if (score < ctx.minScore) continue;
      const cx = d[o] * W;
      const cy = d[o + 1] * H;
      const w = d[o + 2] * W;
      const h = d[o + 3] * H;
      dets.push({ x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, score, classId: best });
    }
    result.push(dets);
  }
  return result;
};
