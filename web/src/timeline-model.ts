// The timeline's arithmetic (pure, unit-tested): the visible window and zoom, the time axis'
// ticks, and the detection density of one row in bins.

export interface TimeWindow {
  start: number;
  end: number;
}

/** The shortest window: a second, or the whole video when it is shorter. */
export const MIN_SPAN = 1;

/** Zooms by `factor` (< 1 in, > 1 out) around time `at`, kept inside [0, duration]. */
export function zoomWindow(w: TimeWindow, factor: number, at: number, duration: number): TimeWindow {
  const span = Math.min(duration, Math.max(Math.min(MIN_SPAN, duration), (w.end - w.start) * factor));
  const rel = w.end > w.start ? (at - w.start) / (w.end - w.start) : 0.5;
  let start = at - rel * span;
  start = Math.min(Math.max(0, start), Math.max(0, duration - span));
  return { start, end: start + span };
}

/** Moves the window (same span) so it starts at `start`, inside [0, duration]. */
export function panWindow(w: TimeWindow, start: number, duration: number): TimeWindow {
  const span = w.end - w.start;
  const s = Math.min(Math.max(0, start), Math.max(0, duration - span));
  return { start: s, end: s + span };
}

/** The window to show time `t` in: unchanged when `t` is inside, else the page that holds it. */
export function follow(w: TimeWindow, t: number, duration: number): TimeWindow {
  if (t >= w.start && t <= w.end) return w;
  return panWindow(w, t - (w.end - w.start) * 0.1, duration);
}

export const timeAtX = (w: TimeWindow, x: number, width: number): number =>
  w.start + (Math.min(Math.max(x, 0), width) / Math.max(1, width)) * (w.end - w.start);

export const xAtTime = (w: TimeWindow, t: number, width: number): number =>
  ((t - w.start) / Math.max(1e-9, w.end - w.start)) * width;

const STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

/** Tick times for an axis `widthPx` wide: the smallest step that leaves `minGapPx` between labels. */
export function axisTicks(w: TimeWindow, widthPx: number, minGapPx = 64): { step: number; ticks: number[] } {
  const span = w.end - w.start;
  if (!(span > 0) || widthPx <= 0) return { step: 1, ticks: [] };
  const step = STEPS.find((s) => (s / span) * widthPx >= minGapPx) ?? STEPS[STEPS.length - 1];
  const ticks: number[] = [];
  for (let t = Math.ceil(w.start / step - 1e-9) * step; t <= w.end + 1e-9; t += step) {
    ticks.push(Math.round(t * 1000) / 1000 + 0); // + 0: no -0
    if (ticks.length > 1000) break;
  }
  return { step, ticks };
}

/**
 * How much of each of `bins` equal slices of the window a row covers, 0 to 1: the share of the
 * analysed frames in the slice where the row is present; a slice with no analysed frame in it
 * (zoomed in past the frame rate) takes the frame on screen at its start.
 * `times` are the analysed frames' timestamps (sorted), `present[i]` 1 where the row is present.
 */
export function densityBins(
  times: ArrayLike<number>,
  present: ArrayLike<number>,
  w: TimeWindow,
  bins: number,
): Float32Array {
  const out = new Float32Array(Math.max(0, bins));
  const n = times.length;
  if (n === 0 || bins <= 0 || !(w.end > w.start)) return out;
  const width = (w.end - w.start) / bins;
  // first frame at or after the window start
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < w.start) lo = mid + 1;
    else hi = mid;
  }
  let i = lo;
  for (let b = 0; b < bins; b++) {
    const t0 = w.start + b * width;
    const t1 = b === bins - 1 ? w.end + 1e-9 : t0 + width;
    let total = 0;
    let hits = 0;
    while (i < n && times[i] < t1) {
      total++;
      hits += present[i] ? 1 : 0;
      i++;
    }
    if (total > 0) out[b] = hits / total;
    else {
      const shown = i - 1; // the last frame before t1, which is on screen during this slice
      out[b] = shown >= 0 && present[shown] ? 1 : 0;
    }
  }
  return out;
}
