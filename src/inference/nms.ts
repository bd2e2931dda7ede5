/** Greedy, class-aware non-maximum suppression on raw (model-input pixel) detections. */

export interface RawDetection {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  classId: number;
}

type Corners = Pick<RawDetection, 'x1' | 'y1' | 'x2' | 'y2'>;

export function iou(a: Corners, b: Corners): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Keeps the best-scoring box and drops others of the SAME class overlapping it by more than
 * `iouThreshold`; boxes of different classes never suppress each other. Returns at most `max`
 * detections, best first.
 */
export function nms(
  dets: RawDetection[],
  iouThreshold: number,
  max = Number.POSITIVE_INFINITY,
): RawDetection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: RawDetection[] = [];
  for (const d of sorted) {
    if (kept.length >= max) break;
    if (kept.every((k) => k.classId !== d.classId || iou(k, d) <= iouThreshold)) kept.push(d);
  }
  return kept;
}
