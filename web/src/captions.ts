// Where each box's caption goes so that no two captions overlap (pure, unit-tested): above the
// box when there is room, else inside its top; a caption that would cover one already placed
// moves down (then up) by its own height until it is clear.

export interface CaptionRequest {
  /** the box's left and top edges, in canvas pixels */
  x: number;
  y: number;
  /** the caption's size */
  w: number;
  h: number;
}

export interface Placed {
  x: number;
  y: number;
  w: number;
  h: number;
}

const overlaps = (a: Placed, b: Placed) =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Places captions in the order given (draw the most important first). */
export function placeCaptions(items: readonly CaptionRequest[], canvasW: number, canvasH: number): Placed[] {
  const placed: Placed[] = [];
  for (const it of items) {
    const x = Math.min(Math.max(0, it.x), Math.max(0, canvasW - it.w));
    const preferred = it.y - it.h >= 0 ? it.y - it.h : Math.max(0, it.y);
    const maxY = Math.max(0, canvasH - it.h);
    let spot: Placed = { x, y: Math.min(preferred, maxY), w: it.w, h: it.h };
    if (placed.some((p) => overlaps(p, spot))) {
      const tries: number[] = [];
      for (let k = 1; k <= 40; k++) tries.push(preferred + k * it.h, preferred - k * it.h);
      const free = tries
        .filter((y) => y >= 0 && y <= maxY)
        .map((y) => ({ x, y, w: it.w, h: it.h }))
        .find((c) => !placed.some((p) => overlaps(p, c)));
      if (free) spot = free;
    }
    placed.push(spot);
  }
  return placed;
}
