import type { DecodeRequest } from './av/protocol.js';
import { parseRate } from './probe.js';
import type { FrameTarget } from './scale.js';
import { DEFAULT_MEDIA_LIMITS } from './settings.js';

/**
 * Pure: the media tool's `decode` request for one chunk. The tool seeks backward to `seekTicks`
 * (the chunk's keyframe: min of its pts and dts, so the demuxer lands on it or before it, never
 * after), decodes, and outputs exactly the planned frames, matched by pts (`frames`: the scan's
 * ticks). Frames before the chunk (a GOP decoded because the seek landed early, open-GOP leading
 * frames that belong to the chunk before) are not in `frames` and are dropped by the match; a
 * seek that lands after the first planned frame is detected in the tool, which then decodes the
 * file from the start.
 */
export interface ChunkDecodeSpec {
  file: string;
  /** VideoProbe.pinnedFormat */
  format: string;
  /** VideoProbe.video.timeBase, e.g. "1/12800" */
  timeBase: string;
  startFrame: number;
  startSec: number;
  sample: {
    /** seconds from frame 0 of the planned frames */
    timestamps: number[];
    /** absolute pts (seconds) of frame 0 */
    firstPtsSec: number;
    /** the planned frames' pts in time-base units, when the plan has them (exact) */
    ticks?: number[];
    /** the chunk keyframe's min(pts, dts) in time-base units, when the plan has it */
    seekTicks?: number | null;
  };
  target: FrameTarget;
  rotation: number;
  threads?: number;
  /** MAX_VIDEO_PIXELS (default: DEFAULT_MEDIA_LIMITS'): the decoder refuses bigger pictures */
  maxPixels?: number;
}

export function chunkDecodeRequest(spec: ChunkDecodeSpec): DecodeRequest {
  const tb = parseRate(spec.timeBase);
  if (!(tb > 0)) throw new RangeError('timeBase must be a positive rational');
  const toTicks = (sec: number) => Math.round((spec.sample.firstPtsSec + sec) / tb);
  const frames = spec.sample.ticks ?? spec.sample.timestamps.map(toTicks);
  for (let i = 1; i < frames.length; i++) {
    if (frames[i] < frames[i - 1]) throw new RangeError('the planned frames must be in presentation order');
  }
  const seekTicks = spec.startFrame > 0 ? (spec.sample.seekTicks ?? toTicks(spec.startSec)) : null;
  return {
    file: spec.file,
    format: spec.format,
    seekTicks,
    frames,
    width: spec.target.width,
    height: spec.target.height,
    resize: spec.target.resize,
    rotation: spec.rotation,
    threads: Math.max(1, Math.floor(spec.threads ?? 1)),
    maxPixels: spec.maxPixels ?? DEFAULT_MEDIA_LIMITS.maxPixels,
  };
}
