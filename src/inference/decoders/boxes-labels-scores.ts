/**
 * Separate boxes / labels / scores tensors, as torchvision detection models and Detectron2's
 * tracing export produce. Boxes are x1, y1, x2, y2 in model-input pixels. Outputs are found by
 * name (box*, label*|class*, score*); unnamed exports fall back to position: Detectron2 returns
 * its dict in sorted key order (pred_boxes, pred_classes, pred_masks, scores, image_size),
 * torchvision in (boxes, labels, scores). Unbatched tensors ([K,4], [K], [K]) are one frame.
 */
import { type Decoder, type OutputTensor, type RawDetection, shapeError, toNumbers } from './common.js';

export function pickBoxesLabelsScores(outputs: OutputTensor[]): {
  boxes: OutputTensor;
  labels: OutputTensor;
  scores: OutputTensor;
} {
  const find = (re: RegExp) => outputs.find((o) => re.test(o.name.toLowerCase()));
  const boxes = find(/box/);
  const labels = find(/label|class/);
  const scores = find(/score/);
  if (boxes && labels && scores) return { boxes, labels, scores };
  if (outputs.length >= 5) return { boxes: outputs[0], labels: outputs[1], scores: outputs[3] };
  if (outputs.length >= 3) return { boxes: outputs[0], labels: outputs[1], scores: outputs[2] };
  throw new Error(
    `The boxes-labels-scores decoder needs 3 outputs (boxes, labels, scores), got ${outputs.length}.`,
  );
}

export const decodeBoxesLabelsScores: Decoder = (outputs, ctx) => {
  const { boxes, labels, scores } = pickBoxesLabelsScores(outputs);
  const batched = boxes.dims.length === 3;
  if (boxes.dims[boxes.dims.length - 1] !== 4 || (!batched && boxes.dims.length !== 2)) {
    throw shapeError('boxes-labels-scores', boxes, '[detections, 4] or [batch, detections, 4]');
  }
  const B = batched ? boxes.dims[0] : 1;
  const K = boxes.dims[batched ? 1 : 0];
  const bx = toNumbers(boxes.data);
  const lb = toNumbers(labels.data);
  const sc = toNumbers(scores.data);
  const result: RawDetection[][] = [];
  for (let b = 0; b < B; b++) {
    const dets: RawDetection[] = [];
    for (let k = 0; k < K; k++) {
      const i = b * K + k;
      if (sc[i] < ctx.minScore) continue;
      dets.push({
        x1: bx[i * 4],
        y1: bx[i * 4 + 1],
        x2: bx[i * 4 + 2],
        y2: bx[i * 4 + 3],
        score: sc[i],
        classId: Math.round(lb[i]),
      });
    }
    result.push(dets);
  }
  return result;
};
