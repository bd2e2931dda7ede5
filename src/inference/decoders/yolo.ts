/**
 * Ultralytics YOLO raw heads: v8/v11 `[B, 4+nc, N]` (as exported) or its transpose `[B, N, 4+nc]`,
 * and v5 `[B, N, 5+nc]` with an objectness column (score = objectness * class score).
 * Boxes are cx, cy, w, h in model-input pixels. NMS is applied later, by us.
 */
import { type Decoder, type RawDetection, shapeError, toNumbers } from './common.js';

export const decodeYolo: Decoder = (outputs, ctx) => {
  const t = outputs[0];
  if (t.dims.length !== 3) throw shapeError('yolo', t, '[batch, 4+classes, boxes]');
  const [B, d1, d2] = t.dims;
  const nc = ctx.numClasses;
  // Which axis holds the attributes, and whether there is an objectness column.
  let attrs: number;
  let boxes: number;
  let channelsFirst: boolean;
  // When both axes could match (N == 4+nc), channels-first wins: it is what exporters write.
  if (d1 === 4 + nc || d1 === 5 + nc) [attrs, boxes, channelsFirst] = [d1, d2, true];
  else if (d2 === 4 + nc || d2 === 5 + nc) [attrs, boxes, channelsFirst] = [d2, d1, false];
  else
    throw shapeError('yolo', t, `[batch, ${4 + nc} or ${5 + nc}, boxes] for ${nc} labels (or its transpose)`);
  const objectness = attrs === 5 + nc;
  const first = objectness ? 5 : 4;
  const data = toNumbers(t.data);
  const at = channelsFirst
    ? (b: number, i: number, a: number) => data[(b * attrs + a) * boxes + i]
    : (b: number, i: number, a: number) => data[(b * boxes + i) * attrs + a];
  const result: RawDetection[][] = [];
  for (let b = 0; b < B; b++) {
    const dets: RawDetection[] = [];
    for (let i = 0; i < boxes; i++) {
      const obj = objectness ? at(b, i, 4) : 1;
      if (obj < ctx.minScore) continue;
      let best = -1;
      let score = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < nc; c++) {
        const s = at(b, i, first + c);
        if (s > score) [score, best] = [s, c];
      }
      score *= obj;
      if (score < ctx.minScore) continue;
      const cx = at(b, i, 0);
      const cy = at(b, i, 1);
      const w = at(b, i, 2);
      const h = at(b, i, 3);
      dets.push({ x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, score, classId: best });
    }
    result.push(dets);
  }
  return result;
};
