import { iou } from '../inference/nms.js';
import type { Box } from '../inference/types.js';
import { solveAssignment } from './assignment.js';

/**
 * Tracking quality against ground truth, as the MOT benchmarks measure it:
 * - CLEAR MOT (Bernardin & Stiefelhagen 2008, as py-motmetrics computes it): per frame, ground-
 *   truth objects keep the hypothesis they were last matched to while the IoU still reaches the
 *   threshold; the rest are matched for the most pairs, then the least total distance (1 - IoU).
 *   An object matched to another hypothesis than the one it had last (gaps included) is an
 *   identity switch. MOTA = 1 - (misses + false positives + switches) / ground-truth boxes;
 *   MOTP here is the mean IoU of the matched pairs.
 * - IDF1 (Ristani et al. 2016): each ground-truth identity is paired with at most one hypothesis
 *   identity, over the whole sequence, so that the frames where the pair overlaps (IoU >= the
 *   threshold) are as many as possible (IDTP); IDF1 = 2 IDTP / (ground-truth boxes + hypothesis
 *   boxes).
 * `ignore` boxes (objects too hidden to demand, e.g. under half visible) are "don't care": a
 * hypothesis matched to one is neither a hit nor a false positive, in both metrics.
 */

export interface EvalObject {
  id: number;
  box: Box;
}

export interface EvalFrame {
  gt: EvalObject[];
  hyp: EvalObject[];
  ignore?: Box[];
}

export interface TrackingScores {
  /** ground-truth boxes, hypothesis boxes counted (after don't-care removal) */
  gtBoxes: number;
  hypBoxes: number;
  gtIds: number;
  hypIds: number;
  matches: number;
  misses: number;
  falsePositives: number;
  idSwitches: number;
  mota: number;
  motp: number;
  precision: number;
  recall: number;
  idtp: number;
  idf1: number;
  idp: number;
  idr: number;
}

/** Any cost below this is a real pair; at or above it, "not allowed": so pairs are maximised first. */
const FORBIDDEN = 1e6;

/**
 * One-to-one pairs of boxes with IoU >= minIou: as many pairs as possible, then the closest
 * (CLEAR MOT's per-frame matching; also what detection precision and recall count).
 */
export function matchBoxes(rows: Box[], cols: Box[], minIou: number): [number, number][] {
  if (rows.length === 0 || cols.length === 0) return [];
  const cost = rows.map((r) =>
    cols.map((c) => {
      const v = iou(r, c);
      return v >= minIou ? 1 - v : FORBIDDEN;
    }),
  );
  const pairs: [number, number][] = [];
  solveAssignment(cost).forEach((j, i) => {
    if (j >= 0 && cost[i][j] < FORBIDDEN) pairs.push([i, j]);
  });
  return pairs;
}

/** Drops the hypotheses that a don't-care box claims (matched to it rather than to a real object). */
function withoutDontCare(f: EvalFrame, minIou: number): EvalObject[] {
  if (!f.ignore || f.ignore.length === 0) return f.hyp;
  const targets = [...f.gt.map((g) => g.box), ...f.ignore];
  const dropped = new Set(
    matchBoxes(
      targets,
      f.hyp.map((h) => h.box),
      minIou,
    )
      .filter(([t]) => t >= f.gt.length)
      .map(([, h]) => h),
  );
  return f.hyp.filter((_, i) => !dropped.has(i));
}

export function evaluateTracking(frames: readonly EvalFrame[], minIou = 0.5): TrackingScores {
  let gtBoxes = 0;
  let hypBoxes = 0;
  let matches = 0;
  let idSwitches = 0;
  let iouSum = 0;
  const lastMatch = new Map<number, number>(); // gt id -> the hypothesis id it was last matched to
  const pairFrames = new Map<number, Map<number, number>>(); // gt id -> hyp id -> frames within IoU
  const gtCount = new Map<number, number>();
  const hypCount = new Map<number, number>();
  for (const f of frames) {
    const hyp = withoutDontCare(f, minIou);
    gtBoxes += f.gt.length;
    hypBoxes += hyp.length;
    for (const g of f.gt) gtCount.set(g.id, (gtCount.get(g.id) ?? 0) + 1);
    for (const h of hyp) hypCount.set(h.id, (hypCount.get(h.id) ?? 0) + 1);
    // IDF1's overlap counts: every pair within the threshold, matched or not
    for (const g of f.gt) {
      for (const h of hyp) {
        if (iou(g.box, h.box) < minIou) continue;
        let m = pairFrames.get(g.id);
        if (!m) {
          m = new Map();
          pairFrames.set(g.id, m);
        }
        m.set(h.id, (m.get(h.id) ?? 0) + 1);
      }
    }
    // CLEAR MOT: keep last frame's correspondences that still hold
    const gtUsed = new Set<number>();
    const hypUsed = new Set<number>();
    const hypIndex = new Map(hyp.map((h, i) => [h.id, i]));
    f.gt.forEach((g, gi) => {
      const hid = lastMatch.get(g.id);
      const hi = hid === undefined ? undefined : hypIndex.get(hid);
      if (hi === undefined || hypUsed.has(hi)) return;
      const v = iou(g.box, hyp[hi].box);
      if (v < minIou) return;
      gtUsed.add(gi);
      hypUsed.add(hi);
      matches += 1;
      iouSum += v;
    });
    const gtRest = f.gt.map((_, i) => i).filter((i) => !gtUsed.has(i));
    const hypRest = hyp.map((_, i) => i).filter((i) => !hypUsed.has(i));
    const pairs = matchBoxes(
      gtRest.map((i) => f.gt[i].box),
      hypRest.map((i) => hyp[i].box),
      minIou,
    );
    for (const [a, b] of pairs) {
      const g = f.gt[gtRest[a]];
      const h = hyp[hypRest[b]];
      const before = lastMatch.get(g.id);
      if (before !== undefined && before !== h.id) idSwitches += 1;
      lastMatch.set(g.id, h.id);
      matches += 1;
      iouSum += iou(g.box, h.box);
    }
  }
  const gtIds = [...gtCount.keys()];
  const hypIds = [...hypCount.keys()];
  let idtp = 0;
  if (gtIds.length > 0 && hypIds.length > 0) {
    // most overlapping frames over one-to-one identity pairs = least total of (-overlap)
    const cost = gtIds.map((g) => hypIds.map((h) => -(pairFrames.get(g)?.get(h) ?? 0)));
    solveAssignment(cost).forEach((j, i) => {
      if (j >= 0) idtp -= cost[i][j];
    });
  }
  return fromCounts({
    gtBoxes,
    hypBoxes,
    gtIds: gtIds.length,
    hypIds: hypIds.length,
    matches,
    idSwitches,
    idtp,
    iouSum,
  });
}

interface Counts {
  gtBoxes: number;
  hypBoxes: number;
  gtIds: number;
  hypIds: number;
  matches: number;
  idSwitches: number;
  idtp: number;
  /** sum of the matched pairs' IoU */
  iouSum: number;
}

function fromCounts(c: Counts): TrackingScores {
  const misses = c.gtBoxes - c.matches;
  const falsePositives = c.hypBoxes - c.matches;
  const ratio = (a: number, b: number, empty: number) => (b > 0 ? a / b : empty);
  return {
    gtBoxes: c.gtBoxes,
    hypBoxes: c.hypBoxes,
    gtIds: c.gtIds,
    hypIds: c.hypIds,
    matches: c.matches,
    misses,
    falsePositives,
    idSwitches: c.idSwitches,
    mota: c.gtBoxes > 0 ? 1 - (misses + falsePositives + c.idSwitches) / c.gtBoxes : 0,
    motp: ratio(c.iouSum, c.matches, 0),
    precision: ratio(c.matches, c.hypBoxes, 1),
    recall: ratio(c.matches, c.gtBoxes, 1),
    idtp: c.idtp,
    idf1: ratio(2 * c.idtp, c.gtBoxes + c.hypBoxes, 1),
    idp: ratio(c.idtp, c.hypBoxes, 1),
    idr: ratio(c.idtp, c.gtBoxes, 1),
  };
}

/**
 * Scores of several evaluations (e.g. one per label, or per sequence) as one: counts add up and
 * the ratios are recomputed from them, as the MOT benchmarks combine sequences.
 */
export function combineScores(parts: readonly TrackingScores[]): TrackingScores {
  const sum = (k: keyof TrackingScores) => parts.reduce((s, p) => s + p[k], 0);
  return fromCounts({
    gtBoxes: sum('gtBoxes'),
    hypBoxes: sum('hypBoxes'),
    gtIds: sum('gtIds'),
    hypIds: sum('hypIds'),
    matches: sum('matches'),
    idSwitches: sum('idSwitches'),
    idtp: sum('idtp'),
    iouSum: parts.reduce((s, p) => s + p.motp * p.matches, 0),
  });
}
