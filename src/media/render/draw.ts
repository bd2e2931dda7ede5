import { CELL_WIDTH, GLYPH_HEIGHT, glyphFor, textSize } from './font.js';

/**
 * Drawing boxes and captions straight into a YUV 4:2:0 picture (the planes libx264 encodes), in
 * pure TypeScript: no libass, no fonts, no drawtext. Pure functions over byte arrays, unit-tested
 * in test/unit/media/render-draw.test.ts; the render child program (render-child.ts) calls them
 * on every decoded frame.
 */

/** An 8-bit YUV 4:2:0 picture, planes tightly packed (as Frame.toBuffer gives them). Even sizes. */
export interface Yuv420Picture {
  width: number;
  height: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}

export interface YuvColor {
  y: number;
  u: number;
  v: number;
}

/** One box to draw, in the picture's (displayed) pixels. */
export interface OverlayBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  label: string;
  score: number;
  trackId: number | null;
}

/** Views of the three planes of a packed yuv420p buffer of an even-sized picture. */
export function yuv420Planes(buf: Uint8Array, width: number, height: number): Yuv420Picture {
  if (width % 2 !== 0 || height % 2 !== 0) throw new RangeError('yuv420 pictures here have even sizes');
  const ySize = width * height;
  const cSize = (width / 2) * (height / 2);
  if (buf.length < ySize + 2 * cSize) throw new RangeError('buffer too small for a yuv420p picture');
  return {
    width,
    height,
    y: buf.subarray(0, ySize),
    u: buf.subarray(ySize, ySize + cSize),
    v: buf.subarray(ySize + cSize, ySize + 2 * cSize),
  };
}

const clampByte = (x: number) => Math.max(0, Math.min(255, Math.round(x)));

/**
 * '#rrggbb' to limited-range BT.601 YUV: what an untagged H.264 stream means, and what players and
 * ffmpeg assume when converting it back to RGB.
 */
export function hexToYuv(hex: string): YuvColor {
  const n = Number.parseInt(hex.replace(/^#/, ''), 16);
  const r = ((n >> 16) & 255) / 255;
  const g = ((n >> 8) & 255) / 255;
  const b = (n & 255) / 255;
  return {
    y: clampByte(16 + 65.481 * r + 128.553 * g + 24.966 * b),
    u: clampByte(128 - 37.797 * r - 74.203 * g + 112.0 * b),
    v: clampByte(128 + 112.0 * r - 93.786 * g - 18.214 * b),
  };
}

export const BLACK: YuvColor = { y: 16, u: 128, v: 128 };

/**
 * Fills the rectangle [x0, x1) x [y0, y1) (clipped to the picture). Chroma is set for every 2x2
 * cell the rectangle touches, so edges on even coordinates come out in exactly the colour.
 */
export function fillRect(pic: Yuv420Picture, x0: number, y0: number, x1: number, y1: number, c: YuvColor) {
  const xa = Math.max(0, Math.floor(x0));
  const ya = Math.max(0, Math.floor(y0));
  const xb = Math.min(pic.width, Math.ceil(x1));
  const yb = Math.min(pic.height, Math.ceil(y1));
  if (xa >= xb || ya >= yb) return;
  for (let y = ya; y < yb; y++) pic.y.fill(c.y, y * pic.width + xa, y * pic.width + xb);
  const cw = pic.width / 2;
  const cxa = xa >> 1;
  const cxb = (xb + 1) >> 1;
  for (let cy = ya >> 1; cy < (yb + 1) >> 1; cy++) {
    pic.u.fill(c.u, cy * cw + cxa, cy * cw + cxb);
    pic.v.fill(c.v, cy * cw + cxa, cy * cw + cxb);
  }
}

/** Rounds down to an even number (box edges on even pixels keep their chroma exact). */
const even = (x: number) => 2 * Math.floor(x / 2);

/** Line thickness and font scale for a picture size: about 1/180 and 1/360 of the short side. Pure. */
export function overlayMetrics(width: number, height: number): { thickness: number; scale: number } {
  const short = Math.min(width, height);
  return {
    thickness: Math.max(2, even(Math.round(short / 180))),
    scale: Math.max(1, Math.round(short / 360)),
  };
}

/**
 * The rectangle a box's outline covers: its edges moved to even pixels, clipped to the picture,
 * `thickness` wide inwards. Null when nothing of it is inside the picture. Pure.
 */
export function outlineRect(
  box: Pick<OverlayBox, 'x1' | 'y1' | 'x2' | 'y2'>,
  width: number,
  height: number,
): { x0: number; y0: number; x1: number; y1: number } | null {
  const x0 = Math.max(0, even(Math.min(box.x1, box.x2)));
  const y0 = Math.max(0, even(Math.min(box.y1, box.y2)));
  const x1 = Math.min(width, even(Math.max(box.x1, box.x2) + 1));
  const y1 = Math.min(height, even(Math.max(box.y1, box.y2) + 1));
  if (x1 - x0 < 2 || y1 - y0 < 2) return null;
  return { x0, y0, x1, y1 };
}

/** Draws the outline of a box, `thickness` pixels wide, inside its edges. */
export function strokeBox(
  pic: Yuv420Picture,
  rect: { x0: number; y0: number; x1: number; y1: number },
  thickness: number,
  c: YuvColor,
) {
  const { x0, y0, x1, y1 } = rect;
  const t = Math.min(thickness, Math.floor((x1 - x0) / 2), Math.floor((y1 - y0) / 2)) || 1;
  fillRect(pic, x0, y0, x1, y0 + t, c);
  fillRect(pic, x0, y1 - t, x1, y1, c);
  fillRect(pic, x0, y0, x0 + t, y1, c);
  fillRect(pic, x1 - t, y0, x1, y1, c);
}

/** Draws one line of text with the built-in font, its top-left corner at (x, y), `scale` pixels per font pixel. */
export function drawText(pic: Yuv420Picture, text: string, x: number, y: number, scale: number, c: YuvColor) {
  let cx = x;
  for (const ch of text) {
    const glyph = glyphFor(ch);
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      const bits = glyph[row];
      for (let col = 0; col < bits.length; col++) {
        if (!bits[col]) continue;
        const px = cx + col * scale;
        const py = y + row * scale;
        fillLuma(pic, px, py, px + scale, py + scale, c);
      }
    }
    cx += CELL_WIDTH * scale;
  }
}

/**
 * Luma only (for glyph pixels: thin strokes would smear a colour's chroma over their neighbours;
 * the caption's background sets the chroma of the whole caption).
 */
function fillLuma(pic: Yuv420Picture, x0: number, y0: number, x1: number, y1: number, c: YuvColor) {
  const xa = Math.max(0, x0);
  const xb = Math.min(pic.width, x1);
  if (xa >= xb) return;
  for (let y = Math.max(0, y0); y < Math.min(pic.height, y1); y++)
    pic.y.fill(c.y, y * pic.width + xa, y * pic.width + xb);
}

/** The caption of a box: label, track id when it has one, score with two decimals. Pure. */
export function captionText(box: Pick<OverlayBox, 'label' | 'score' | 'trackId'>): string {
  const track = box.trackId == null ? '' : ` #${box.trackId}`;
  return `${box.label}${track} ${box.score.toFixed(2)}`;
}

/**
 * Where a caption goes: a filled strip on the box's top edge, outside above it when there is room,
 * else inside it; moved left to stay in the picture. Even coordinates. Pure.
 */
export function captionRect(
  outline: { x0: number; y0: number; x1: number; y1: number },
  text: { width: number; height: number },
  pad: number,
  pic: { width: number; height: number },
): { x0: number; y0: number; x1: number; y1: number } {
  const w = Math.min(pic.width, even(text.width + 2 * pad + 1));
  const h = Math.min(pic.height, even(text.height + 2 * pad + 1));
  const above = outline.y0 - h >= 0;
  const y0 = above ? outline.y0 - h : Math.min(outline.y0, pic.height - h);
  const x0 = Math.max(0, Math.min(outline.x0, pic.width - w));
  return { x0, y0, x1: x0 + w, y1: y0 + h };
}

/** Draws every box of a frame: outline in its label's colour, caption in black on that colour. */
export function drawOverlay(
  pic: Yuv420Picture,
  boxes: readonly OverlayBox[],
  colorOf: (label: string) => string,
) {
  const { thickness, scale } = overlayMetrics(pic.width, pic.height);
  const pad = scale;
  for (const box of boxes) {
    const outline = outlineRect(box, pic.width, pic.height);
    if (!outline) continue;
    const color = hexToYuv(colorOf(box.label));
    strokeBox(pic, outline, thickness, color);
    const text = captionText(box);
    const cap = captionRect(outline, textSize(text, scale), pad, pic);
    fillRect(pic, cap.x0, cap.y0, cap.x1, cap.y1, color);
    drawText(pic, text, cap.x0 + pad, cap.y0 + pad, scale, BLACK);
  }
}
