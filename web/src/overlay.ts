import { placeCaptions } from './captions.js';
import { labelColor } from './colors.js';
import { isShown, type ReviewFilter } from './filters.js';
import { captionText, emphasisOf, trackIdOf } from './tracks-model.js';
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
 * are placed so they never cover each other, strongest detection first. With a selected track
 * (`selected`, a trackId), its box is drawn thicker, on top and captioned first; the others are
 * dimmed. Returns the boxes drawn.
 */
export function drawBoxes(
  ctx: CanvasRenderingContext2D,
  frame: Frame | undefined,
  scale: number,
  filter: ReviewFilter,
  dpr: number,
  selected: number | null = null,
): number {
  const { width, height } = ctx.canvas;
  ctx.clearRect(0, 0, width, height);
  if (!frame) return 0;
  const rank = { selected: 0, normal: 1, dimmed: 2 } as const;
  const shown = frame.detections
    .filter((d) => isShown(d, filter))
    .map((d) => ({ d, emphasis: emphasisOf(trackIdOf(d), selected) }))
    .sort((a, b) => rank[a.emphasis] - rank[b.emphasis] || b.d.score - a.d.score);
  const lw = Math.max(2, Math.round(2 * dpr));
  const fontPx = Math.round(13 * dpr);
  ctx.font = `600 ${fontPx}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  const th = fontPx + 6 * dpr;
  const items = shown.map(({ d, emphasis }) => {
    const text = captionText(d);
    return {
      d,
      emphasis,
      text,
      x: d.box.x1 * scale,
      y: d.box.y1 * scale,
      w: ctx.measureText(text).width + 8 * dpr,
      h: th,
    };
  });
  // boxes first (dimmed ones under the rest, the selected track's last), then every caption on top
  for (const { d, emphasis } of [...items].reverse()) {
    const x1 = d.box.x1 * scale;
    const y1 = d.box.y1 * scale;
    const w = (d.box.x2 - d.box.x1) * scale;
    const hh = (d.box.y2 - d.box.y1) * scale;
    const l = emphasis === 'selected' ? lw * 2 : lw;
    ctx.globalAlpha = emphasis === 'dimmed' ? 0.35 : 1;
    ctx.lineWidth = l;
    ctx.strokeStyle = 'rgba(0,0,0,0.6)';
    ctx.strokeRect(x1, y1, w, hh);
    ctx.strokeStyle = labelColor(d.label);
    ctx.strokeRect(x1 + l / 2, y1 + l / 2, Math.max(0, w - l), Math.max(0, hh - l));
    if (emphasis === 'selected') {
      ctx.lineWidth = Math.max(1, dpr);
      ctx.strokeStyle = '#fff';
      ctx.strokeRect(x1 - l / 2, y1 - l / 2, w + l, hh + l);
    }
  }
  const spots = placeCaptions(items, width, height);
  items.forEach((it, i) => {
    const p = spots[i];
    ctx.globalAlpha = it.emphasis === 'dimmed' ? 0.45 : 1;
    ctx.fillStyle = labelColor(it.d.label);
    ctx.fillRect(p.x, p.y, p.w, p.h);
    ctx.strokeStyle = 'rgba(0,0,0,0.55)';
    ctx.lineWidth = Math.max(1, dpr);
    ctx.strokeRect(p.x, p.y, p.w, p.h);
    ctx.fillStyle = '#000';
    ctx.fillText(it.text, p.x + 4 * dpr, p.y + 3 * dpr);
  });
  ctx.globalAlpha = 1;
  return items.length;
}
