/**
 * Raw detections in model-input pixels → the API's detections in original-frame pixels:
 * score threshold, label filter, class-aware NMS, cap, box mapping and clamping.
 */

import { DEFAULT_MIN_SCORE, type Detection as StoredDetection } from '../api/schemas.js';
import { nms, type RawDetection } from './nms.js';
import { inputToOriginal } from './resize.js';
import type { Box, Detection, DetectOptions, FrameSize, ModelInput } from './types.js';

export { DEFAULT_MIN_SCORE };
export const DEFAULT_IOU = 0.45;
export const DEFAULT_MAX_DETECTIONS = 100;

export function labelOf(labels: string[], classId: number): string {
  return labels[classId] ?? `class_${classId}`;
}

/** Maps a model-input box to the original frame, clamped to it. */
export function mapBox(
  d: RawDetection,
  original: FrameSize,
  input: Pick<ModelInput, 'width' | 'height' | 'resize'>,
): Box {
  const m = inputToOriginal(original, input);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return {
    x1: clamp((d.x1 - m.offsetX) * m.scaleX, original.width),
    y1: clamp((d.y1 - m.offsetY) * m.scaleY, original.height),
    x2: clamp((d.x2 - m.offsetX) * m.scaleX, original.width),
    y2: clamp((d.y2 - m.offsetY) * m.scaleY, original.height),
  };
}

export function postprocess(
  raw: RawDetection[],
  ctx: { labels: string[]; input: Pick<ModelInput, 'width' | 'height' | 'resize'>; original: FrameSize },
  options: DetectOptions = {},
): Detection[] {
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  const wanted = options.labels && options.labels.length > 0 ? new Set(options.labels) : undefined;
  const candidates = raw.filter(
    (d) => d.score >= minScore && (!wanted || wanted.has(labelOf(ctx.labels, d.classId))),
  );
  const kept = nms(
    candidates,
    options.iouThreshold ?? DEFAULT_IOU,
    options.maxDetections ?? DEFAULT_MAX_DETECTIONS,
  );
  const out: Detection[] = [];
  for (const d of kept) {
    const box = mapBox(d, ctx.original, ctx.input);
    // A box entirely in the letterbox padding maps to nothing in the frame.
    if (box.x2 <= box.x1 || box.y2 <= box.y1) continue;
    out.push({ label: labelOf(ctx.labels, d.classId), classId: d.classId, score: d.score, box });
  }
  return out;
}

/** What is stored and returned per detection: label, score rounded to 4 places, box to 0.1 px. */
export function toStoredDetection(d: Detection): StoredDetection {
  const r = (x: number, k: number) => Math.round(x * k) / k;
  return {
    label: d.label,
    score: r(d.score, 1e4),
    box: { x1: r(d.box.x1, 10), y1: r(d.box.y1, 10), x2: r(d.box.x2, 10), y2: r(d.box.y2, 10) },
  };
}
