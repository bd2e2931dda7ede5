import type { Chunk } from './chunks.js';
import { rotationFilters } from './orientation.js';
import type { FrameScan } from './packets.js';

/**
 * ffmpeg arguments that decode exactly one chunk: frames startFrame .. startFrame+frameCount-1 (or
 * the sampled ones among them), upright, scaled by `filter`, as raw RGB24 on stdout.
 *
 * How the seek is exact (verified by test/integration/media/decode.test.ts against a full decode):
 * - `-seek_timestamp 1 -ss T` (input option): T is an absolute stream time, not offset by the
 *   container's start time. `-noaccurate_seek`: ffmpeg does not trim by time itself, and `-copyts`
 *   keeps the original timestamps, so the filters below compare real pts.
 * - ffmpeg (4.x, and later for demuxers that seek by dts) subtracts 3/23 s (130434 us) from T when a
 *   stream has B-frames. To land on the chunk's keyframe and not decode the GOP before it, T is the
 *   keyframe's pts (rounded UP to the microsecond) plus 130435 us, as long as that stays below the
 *   next keyframe (pts and dts); otherwise T is the keyframe's pts itself (correct, at worst it
 *   decodes one short GOP more). Either way the demuxer lands on the keyframe or before it, never
 *   after.
 * - `select='gte(t,X)'` with X halfway between the previous frame's pts and the keyframe's drops
 *   whatever precedes the keyframe in presentation order: the GOP before it if the seek landed
 *   early, and open-GOP leading frames (decoded after the keyframe, shown before it; they belong
 *   to the previous chunk, which decodes them sequentially).
 * - `-vsync passthrough` (no frame dropped or duplicated) and `-frames:v N` stop after exactly the
 *   chunk's frames, so nothing after the chunk is converted either.
 * - Sampling: a second `select` by frame number within the chunk (`n` counts the frames the first
 *   select let through: frame 0 is the chunk's first frame), BEFORE rotation and scaling, so frames
 *   not analysed are neither rotated nor scaled.
 * - Rotation: `-noautorotate` and explicit transpose filters after the selection (see
 *   orientation.ts): frames come out as displayed.
 */
export interface ChunkDecodeOptions {
  file: string;
  /** filters that scale to the model input, e.g. "scale=512:512" (output must be rgb24-convertible) */
  filter: string;
  /** indices of the frames to output, relative to the chunk's first frame, sorted; null/undefined = all */
  select?: number[] | null;
  /** clockwise display rotation (VideoProbe.video.rotation); default 0 */
  rotation?: number;
  /** decoder threads (-threads); default 1 (one chunk per core scales better than threads) */
  threads?: number;
}

/** ffmpeg subtracts this (3 * AV_TIME_BASE / 23, in microseconds) from -ss for streams with B-frames. */
export const FFMPEG_DTS_HEURISTIC_US = 130434;

export interface SeekPlan {
  /** -ss value in microseconds (absolute stream time), or null for chunk 0 (no seek) */
  seekUs: number | null;
  /** drop frames whose pts (seconds) is below this; null when not needed */
  minPtsSec: number | null;
}

export function planSeek(
  scan: Pick<FrameScan, 'ticks' | 'keyframes' | 'keyframeDts' | 'timeBase'>,
  startFrame: number,
): SeekPlan {
  if (startFrame <= 0) return { seekUs: null, minPtsSec: null };
  if (startFrame >= scan.ticks.length) throw new RangeError('startFrame is past the last frame');
  const [num, den] = scan.timeBase;
  const sec = (ticks: number) => (ticks * num) / den;
  const kfSec = sec(scan.ticks[startFrame]);
  const prevSec = sec(scan.ticks[startFrame - 1]);
  const kfUs = Math.ceil(kfSec * 1e6 - 1e-6);
  // the earliest time (pts or dts) of the next keyframe: the seek target must stay below it
  let nextUs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < scan.keyframes.length; i++) {
    if (scan.keyframes[i] > startFrame) {
      nextUs = Math.floor(sec(Math.min(scan.ticks[scan.keyframes[i]], scan.keyframeDts[i])) * 1e6);
      break;
    }
  }
  const shifted = kfUs + FFMPEG_DTS_HEURISTIC_US + 1;
  const seekUs = shifted < nextUs ? shifted : kfUs;
  return { seekUs, minPtsSec: (prevSec + kfSec) / 2 };
}

export function formatMicros(us: number): string {
  const sign = us < 0 ? '-' : '';
  const a = Math.abs(Math.round(us));
  return `${sign}${Math.floor(a / 1e6)}.${String(a % 1e6).padStart(6, '0')}`;
}

/** A select expression for these frame numbers, runs compressed: "between(n,0,4)+eq(n,9)". */
export function selectExpression(frames: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < frames.length; ) {
    let j = i;
    while (j + 1 < frames.length && frames[j + 1] === frames[j] + 1) j++;
    parts.push(i === j ? `eq(n,${frames[i]})` : `between(n,${frames[i]},${frames[j]})`);
    i = j + 1;
  }
  return parts.join('+');
}

/** Number of frames the decode of this chunk outputs (what decodeChunkFrames should expect). */
export function chunkOutputFrames(chunk: Pick<Chunk, 'frameCount'>, select?: number[] | null): number {
  return select == null ? chunk.frameCount : select.length;
}

export function buildChunkDecodeArgs(
  scan: Pick<FrameScan, 'ticks' | 'keyframes' | 'keyframeDts' | 'timeBase'>,
  chunk: Pick<Chunk, 'startFrame' | 'frameCount'>,
  opts: ChunkDecodeOptions,
): string[] {
  return decodeArgsForSeek(planSeek(scan, chunk.startFrame), chunk.frameCount, opts);
}

/**
 * The same from times alone, for callers that stored only the chunk's times (not the scan).
 * Times are seconds relative to frame 0 (FrameScan.timestamps). Exact without the optional hints;
 * `nextKeyframeSec` (the first keyframe after the chunk's start, e.g. the next chunk's startSec
 * when the chunk holds one GOP, or from FrameScan) lets the seek skip ffmpeg's 3/23 s step back,
 * so that the GOP before the chunk is not decoded for nothing (only matters with B-frames).
 */
export interface ChunkTimeSpec {
  file: string;
  /** timestamp of the chunk's first frame (a keyframe; 0 for the first chunk) */
  startSec: number;
  frameCount: number;
  /** frames to output, relative to the chunk's first frame; null = all */
  selectFrames?: number[] | null;
  /** filters that scale to the model input, e.g. "scale=512:512" */
  scaleFilter: string;
  threads?: number;
  /** clockwise display rotation (VideoProbe.video.rotation) */
  rotation?: number;
  /** FrameScan.firstPtsSec (absolute pts of frame 0); default 0, as in MP4 and Matroska files */
  firstPtsSec?: number;
  /** timestamp of the first keyframe after startSec, if known */
  nextKeyframeSec?: number | null;
}

export function chunkDecodeArgs(spec: ChunkTimeSpec): string[] {
  const first = spec.firstPtsSec ?? 0;
  let seek: SeekPlan = { seekUs: null, minPtsSec: null };
  if (spec.startSec > 0) {
    const kfAbs = first + spec.startSec;
    const kfUs = Math.ceil(kfAbs * 1e6 - 1e-6);
    const shifted = kfUs + FFMPEG_DTS_HEURISTIC_US + 1;
    // the next keyframe's dts may precede its pts by the reorder delay: keep a 0.1 s margin
    const nextUs = spec.nextKeyframeSec == null ? -1 : Math.floor((first + spec.nextKeyframeSec - 0.1) * 1e6);
    seek = { seekUs: shifted < nextUs ? shifted : kfUs, minPtsSec: kfAbs - 1e-6 };
  }
  return decodeArgsForSeek(seek, spec.frameCount, {
    file: spec.file,
    filter: spec.scaleFilter,
    select: spec.selectFrames,
    rotation: spec.rotation,
    threads: spec.threads,
  });
}

function decodeArgsForSeek(seek: SeekPlan, frameCount: number, opts: ChunkDecodeOptions): string[] {
  if (frameCount <= 0) throw new RangeError('the chunk has no frames');
  const select = opts.select ?? null;
  if (select) {
    if (select.length === 0)
      throw new RangeError('no frame of the chunk is selected: skip it instead of decoding');
    for (let i = 0; i < select.length; i++) {
      const f = select[i];
      if (!Number.isInteger(f) || f < 0 || f >= frameCount || (i > 0 && f <= select[i - 1])) {
        throw new RangeError('select must be sorted, distinct frame indices within the chunk');
      }
    }
  }
  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const { seekUs, minPtsSec } = seek;
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-threads',
    String(threads),
    '-noautorotate',
  ];
  if (seekUs != null) args.push('-noaccurate_seek', '-seek_timestamp', '1', '-ss', formatMicros(seekUs));
  args.push('-copyts', '-i', opts.file, '-map', '0:v:0', '-an', '-sn', '-dn');
  const filters: string[] = [];
  if (minPtsSec != null) filters.push(`select='gte(t,${minPtsSec.toFixed(9)})'`);
  if (select && select.length < frameCount) filters.push(`select='${selectExpression(select)}'`);
  filters.push(...rotationFilters(opts.rotation ?? 0));
  if (opts.filter.trim()) filters.push(opts.filter.trim());
  args.push('-vf', filters.length ? filters.join(',') : 'null');
  args.push('-vsync', 'passthrough', '-frames:v', String(select ? select.length : frameCount));
  args.push('-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  return args;
}
