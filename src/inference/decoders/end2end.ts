/** End-to-end heads (YOLOv10, ultralytics `nms=True`, ...): `[B, K, 6]` = x1, y1, x2, y2, score, class in input pixels. */
import { type Decoder, type RawDetection, shapeError, toNumbers } from './common.js';

export const decodeEnd2End: Decoder = (outputs, ctx) => {
  const t = outputs[0];
  if (t.dims.length !== 3 || t.dims[2] < 6) throw shapeError('end2end', t, '[batch, detections, 6]');
  const [B, K, A] = t.dims;
  const d = toNumbers(t.data);
  const result: RawDetection[][] = [];
  for (let b = 0; b < B; b++) {
    const dets: RawDetection[] = [];
    for (let k = 0; k < K; k++) {
      const o = (b * K + k) * A;
      const score = d[o + 4];
      if (score < ctx.minScore) continue;
      dets.push({ x1: d[o], y1: d[o + 1], x2: d[o + 2], y2: d[o + 3], score, classId: Math.round(d[o + 5]) });
    }
    result.push(dets);
  }
  return result;
};
