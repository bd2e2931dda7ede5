/**
 * How closely one detector's boxes follow another's (a quantized model against its float
 * original): the matched-box F1 over a set of frames.
 *
 * Per frame and per label, candidate boxes are taken best score first; each one matches the
 * not-yet-matched reference box of the same label with which it has the highest IoU, if that IoU
 * is at least the threshold. Matches count as true positives, unmatched candidates as false
 * positives, unmatched reference boxes as false negatives; counts are summed over all frames and
 * F1 = 2 TP / (2 TP + FP + FN). Two empty sets agree perfectly (F1 = 1).
 */
import { iou } from './nms.js';
import type { Detection } from './types.js';

export interface AgreementCounts {
  /** candidate boxes matched to a reference box */
  matched: number;
  /** candidate boxes with no reference box */
  extra: number;
  /** reference boxes with no candidate box */
  missed: number;
}

export interface Agreement extends AgreementCounts {
  precision: number;
  recall: number;
  f1: number;
}

/** Greedy matching of one frame's detections (see the module comment). */
export function matchFrame(
  reference: readonly Detection[],
  candidate: readonly Detection[],
  iouThreshold = 0.5,
): AgreementCounts {
  const used = new Array<boolean>(reference.length).fill(false);
  let matched = 0;
  const byScore = [...candidate].sort((a, b) => b.score - a.score);
  for (const c of byScore) {
    let best = -1;
    let bestIou = iouThreshold;
    for (let i = 0; i < reference.length; i++) {
      if (used[i] || reference[i].label !== c.label) continue;
      const v = iou(reference[i].box, c.box);
      if (v >= bestIou) {
        bestIou = v;
        best = i;
      }
    }
    if (best >= 0) {
      used[best] = true;
      matched++;
    }
  }
  return { matched, extra: candidate.length - matched, missed: reference.length - matched };
}

/** Matched-box F1 of `candidate` against `reference`, frame by frame (same order and length). */
export function matchedBoxF1(
  reference: readonly (readonly Detection[])[],
  candidate: readonly (readonly Detection[])[],
  iouThreshold = 0.5,
): Agreement {
  if (reference.length !== candidate.length)
    throw new Error(`${reference.length} reference frames against ${candidate.length} candidate frames.`);
  const total: AgreementCounts = { matched: 0, extra: 0, missed: 0 };
  for (let f = 0; f < reference.length; f++) {
    const c = matchFrame(reference[f], candidate[f], iouThreshold);
    total.matched += c.matched;
    total.extra += c.extra;
    total.missed += c.missed;
  }
  const { matched: tp, extra: fp, missed: fn } = total;
  return {
    ...total,
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    recall: tp + fn === 0 ? 1 : tp / (tp + fn),
    f1: tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn),
  };
}
