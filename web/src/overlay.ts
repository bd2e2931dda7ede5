import { labelColor } from './dom.js';
import type { Detection, Frame } from './types.js';

/**
 * Index of the analysed frame shown at media time `t`: the one whose timestamp is nearest at or
 * before `t` (frames sorted by timestamp), or -1 before the first one. A millisecond of slack
 * absorbs float rounding between the decoder's timestamps and the player's.
 */
export function frameAt(frames: readonly Frame[], t: number): number {
  let lo = 0;
  let hi = frames.length - 1;
  let found = -1;
  const limit = t + 0.001;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (frames[mid].timestamp <= limit) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Where the picture is inside a <video> box with object-fit: contain (letterboxing). */
export function contentRect(
  boxW: number,
  boxH: number,
  videoW: number,
  videoH: number,
): { x: number; y: number; w: number; h: number } {
  if (!videoW || !videoH || !boxW || !boxH) return { x: 0, y: 0, w: boxW, h: boxH };
  const scale = Math.min(boxW / videoW, boxH / videoH);
  const w = videoW * scale;
  const h = videoH * scale;
  return { x: (boxW - w) / 2, y: (boxH - h) / 2, w, h };
}

export interface DrawFilter {
  labels: ReadonlySet<string> | null; // null: every label
  minScore: number;
}

export function visible(d: Detection, f: DrawFilter): boolean {
  return d.score >= f.minScore && (f.labels === null || f.labels.has(d.label));
}

/**
 * Draws a frame's boxes on a canvas that covers the picture exactly: `scale` maps original video
 * pixels to canvas pixels (the canvas backing store already includes devicePixelRatio).
 */
export function drawBoxes(
  ctx: CanvasRenderingContext2D,
  frame: Frame | undefined,
  scale: number,
  filter: DrawFilter,
  dpr: number,
): number {
  const { width, height } = ctx.canvas;
  ctx.clearRect(0, 0, width, height);
  if (!frame) return 0;
  let n = 0;
  const lw = Math.max(2, Math.round(2 * dpr));
  const fontPx = Math.round(13 * dpr);
  ctx.font = `600 ${fontPx}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  for (const d of frame.detections) {
    if (!visible(d, filter)) continue;
    n++;
    const x1 = d.box.x1 * scale;
    const y1 = d.box.y1 * scale;
    const w = (d.box.x2 - d.box.x1) * scale;
    const hh = (d.box.y2 - d.box.y1) * scale;
    const color = labelColor(d.label);
    ctx.lineWidth = lw;
    ctx.strokeStyle = 'rgba(0,0,0,0.6)';
    ctx.strokeRect(x1, y1, w, hh);
    ctx.strokeStyle = color;
    ctx.strokeRect(x1 + lw / 2, y1 + lw / 2, Math.max(0, w - lw), Math.max(0, hh - lw));
    const text = `${d.label} ${(d.score * 100).toFixed(0)}%`;
    const tw = ctx.measureText(text).width + 8 * dpr;
    const th = fontPx + 6 * dpr;
    // label above the box, or inside it when the box touches the top
    const ty = y1 - th >= 0 ? y1 - th : y1;
    const tx = Math.min(Math.max(0, x1), Math.max(0, width - tw));
    ctx.fillStyle = color;
    ctx.fillRect(tx, ty, tw, th);
    ctx.fillStyle = '#000';
    ctx.fillText(text, tx + 4 * dpr, ty + 3 * dpr);
  }
  return n;
}
