/**
 * Pure planning of the work for one video: which frames form which chunk, and which frames are
 * analysed. Frame indices and timestamps come from `scanVideoFrames` (src/media/packets.ts).
 */

export interface Chunk {
  index: number;
  /** index of the chunk's first frame: a keyframe (or frame 0 for chunk 0) */
  startFrame: number;
  frameCount: number;
  /** timestamp of the first frame (seconds from frame 0) */
  startSec: number;
  /** timestamp of the next chunk's first frame, or the end of the last frame for the last chunk */
  endSec: number;
}

/**
 * Splits the frames into chunks of about `chunkSeconds`, each starting at a keyframe (so no chunk
 * decodes frames it throws away), covering every frame exactly once in order. A chunk ends at the
 * keyframe nearest to `chunkSeconds` after its start (the later one on a tie); a video with few
 * keyframes gives longer chunks. A last chunk shorter than `minTailFraction` * chunkSeconds (default 0.25) is merged into
 * the one before it.
 */
export function planChunks(
  scan: { timestamps: number[]; keyframes: number[] },
  opts: { chunkSeconds: number; minTailFraction?: number },
): Chunk[] {
  const { timestamps, keyframes } = scan;
  const n = timestamps.length;
  if (n === 0) return [];
  if (!(opts.chunkSeconds > 0)) throw new RangeError('chunkSeconds must be > 0');
  const kfs = keyframes.filter((k) => k > 0 && k < n);
  const starts: number[] = [0];
  let j = 0;
  for (;;) {
    const s = starts[starts.length - 1];
    const target = timestamps[s] + opts.chunkSeconds;
    while (j < kfs.length && kfs[j] <= s) j++;
    if (j >= kfs.length) break;
    let k = j;
    while (k < kfs.length && timestamps[kfs[k]] < target - 1e-9) k++;
    const before = k - 1 >= j ? kfs[k - 1] : undefined; // last keyframe before the target
    const atOrAfter = k < kfs.length ? kfs[k] : undefined; // first keyframe at or after it
    let pick: number;
    if (before === undefined) pick = atOrAfter as number;
    else if (atOrAfter === undefined) pick = before;
    else pick = target - timestamps[before] < timestamps[atOrAfter] - target ? before : atOrAfter;
    starts.push(pick);
  }
  const end = lastFrameEnd(timestamps);
  const minTail = (opts.minTailFraction ?? 0.25) * opts.chunkSeconds;
  if (starts.length > 1 && end - timestamps[starts[starts.length - 1]] < minTail) starts.pop();
  return starts.map((s, i) => {
    const next = i + 1 < starts.length ? starts[i + 1] : n;
    return {
      index: i,
      startFrame: s,
      frameCount: next - s,
      startSec: timestamps[s],
      endSec: next < n ? timestamps[next] : end,
    };
  });
}

/** The end of the last frame: its timestamp plus the duration of the frame before it. */
export function lastFrameEnd(timestamps: number[]): number {
  const n = timestamps.length;
  if (n === 0) return 0;
  if (n === 1) return timestamps[0];
  return timestamps[n - 1] + (timestamps[n - 1] - timestamps[n - 2]);
}

/**
 * The frame indices to analyse. `fps` null: every frame. `fps` N: the first frame in each
 * 1/N-second slot ([k/N, (k+1)/N) from frame 0), so variable-frame-rate video is sampled by time,
 * not by counting frames; slots without a frame are skipped.
 */
export function sampleFrames(timestamps: number[], fps: number | null): number[] {
  if (fps == null) return timestamps.map((_, i) => i);
  if (!(fps > 0)) throw new RangeError('fps must be > 0');
  const out: number[] = [];
  let lastSlot = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < timestamps.length; i++) {
    const slot = Math.floor(timestamps[i] * fps + 1e-9);
    if (slot > lastSlot) {
      out.push(i);
      lastSlot = slot;
    }
  }
  return out;
}

/**
 * The sampled frames that fall in one chunk, as indices relative to the chunk's first frame
 * (what `buildChunkDecodeArgs`'s `select` takes). `sampled` must be sorted (as sampleFrames returns).
 */
export function chunkSample(sampled: number[], chunk: Pick<Chunk, 'startFrame' | 'frameCount'>): number[] {
  const lo = lowerBound(sampled, chunk.startFrame);
  const hi = lowerBound(sampled, chunk.startFrame + chunk.frameCount);
  const out = new Array<number>(hi - lo);
  for (let i = lo; i < hi; i++) out[i - lo] = sampled[i] - chunk.startFrame;
  return out;
}

function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
