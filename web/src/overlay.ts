import { placeCaptions } from './captions.js';
import { labelColor } from './colors.js';
import { isShown, type ReviewFilter } from './filters.js';
import type { Frame } from './types.js';

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

/**
 * Draws a frame's boxes on a canvas that covers the picture exactly: `scale` maps original video
 * pixels to canvas pixels (the canvas backing store already includes devicePixelRatio). Captions
 * are placed so they never cover each other, strongest detection first. Returns the boxes drawn.
 */
export function drawBoxes(
  ctx: CanvasRenderingContext2D,
  frame: Frame | undefined,
  scale: number,
  filter: ReviewFilter,
  dpr: number,
): number {
  const { width, height } = ctx.canvas;
  ctx.clearRect(0, 0, width, height);
  if (!frame) return 0;
  const shown = frame.detections.filter((d) => isShown(d, filter)).sort((a, b) => b.score - a.score);
  const lw = Math.max(2, Math.round(2 * dpr));
  const fontPx = Math.round(13 * dpr);
  ctx.font = `600 ${fontPx}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  const th = fontPx + 6 * dpr;
  const items = shown.map((d) => {
    const text = `${d.label} ${(d.score * 100).toFixed(0)}%`;
    return {
      d,
      text,
      x: d.box.x1 * scale,
      y: d.box.y1 * scale,
      w: ctx.measureText(text).width + 8 * dpr,
      h: th,
    };
  });
  // boxes first, then every caption on top of every box
  for (const { d } of items) {
    const x1 = d.box.x1 * scale;
    const y1 = d.box.y1 * scale;
    const w = (d.box.x2 - d.box.x1) * scale;
    const hh = (d.box.y2 - d.box.y1) * scale;
    ctx.lineWidth = lw;
    ctx.strokeStyle = 'rgba(0,0,0,0.6)';
    ctx.strokeRect(x1, y1, w, hh);
    ctx.strokeStyle = labelColor(d.label);
    ctx.strokeRect(x1 + lw / 2, y1 + lw / 2, Math.max(0, w - lw), Math.max(0, hh - lw));
  }
  const spots = placeCaptions(items, width, height);
  items.forEach((it, i) => {
    const p = spots[i];
    ctx.fillStyle = labelColor(it.d.label);
    ctx.fillRect(p.x, p.y, p.w, p.h);
    ctx.strokeStyle = 'rgba(0,0,0,0.55)';
    ctx.lineWidth = Math.max(1, dpr);
    ctx.strokeRect(p.x, p.y, p.w, p.h);
    ctx.fillStyle = '#000';
    ctx.fillText(it.text, p.x + 4 * dpr, p.y + 3 * dpr);
  });
  return items.length;
}
