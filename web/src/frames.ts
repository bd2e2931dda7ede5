// Moving through a job's analysed frames (sorted by timestamp): which frame is on screen,
// the neighbours, the next frame where a label appears, a frame by its number (pure).
import type { Frame } from './types.js';

/**
 * Index of the analysed frame shown at media time `t`: the one whose timestamp is nearest at or
 * before `t`, or -1 before the first one. A millisecond of slack absorbs float rounding between
 * the decoder's timestamps and the player's.
 */
export function frameAt(frames: readonly Pick<Frame, 'timestamp'>[], t: number): number {
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

/** The neighbouring analysed frame's index (clamped to the ends); from -1, forward is 0. */
export function stepIndex(count: number, i: number, dir: 1 | -1): number {
  if (count === 0) return -1;
  if (i < 0) return dir > 0 ? 0 : -1;
  return Math.min(count - 1, Math.max(0, i + dir));
}

/**
 * The next (dir 1) or previous (dir -1) analysed frame after index `i` for which `has` is true,
 * or -1 when there is none that way.
 */
export function seekWhere(count: number, i: number, dir: 1 | -1, has: (index: number) => boolean): number {
  for (let j = i + dir; j >= 0 && j < count; j += dir) if (has(j)) return j;
  return -1;
}

/** The index of the analysed frame with this frame number, or of the nearest one. */
export function indexOfFrameNumber(frames: readonly Pick<Frame, 'frameIndex'>[], n: number): number {
  if (frames.length === 0) return -1;
  let best = 0;
  for (let i = 0; i < frames.length; i++) {
    if (Math.abs(frames[i].frameIndex - n) < Math.abs(frames[best].frameIndex - n)) best = i;
    if (frames[i].frameIndex === n) return i;
  }
  return best;
}

/**
 * The media time to seek to so the player shows analysed frame `i`: its timestamp plus a quarter
 * of a frame, safely inside the frame's display interval whatever the rounding.
 */
export function seekTimeOf(frames: readonly Pick<Frame, 'timestamp'>[], i: number, fps: number): number {
  const quarter = fps > 0 ? 0.25 / fps : 0.001;
  return frames[i].timestamp + quarter;
}
