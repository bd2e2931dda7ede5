import { lastFrameEnd } from './chunks.js';
import type { FrameScan } from './packets.js';
import type { VideoProbe } from './probe.js';
import type { MediaLimits } from './settings.js';

/**
 * Pure: the limits on the real stream. Header values (pixels, streams, a stated frame rate) are
 * checked at the probe; duration, frame count and the real frame rate from the packet scan (the
 * LAST frame's timestamp, not what the header says). Each refusal is one sentence and a code.
 */
export interface LimitRefusal {
  code: 'VIDEO_TOO_LARGE' | 'VIDEO_TOO_LONG' | 'TOO_MANY_FRAMES' | 'FRAME_RATE_TOO_HIGH' | 'TOO_MANY_STREAMS';
  message: string;
}

export class MediaLimitError extends Error {
  override name = 'MediaLimitError';
  constructor(readonly refusal: LimitRefusal) {
    super(refusal.message);
  }
}

export function checkProbeLimits(probe: VideoProbe, limits: MediaLimits): LimitRefusal | null {
  const { width, height } = probe.video;
  if (width * height > limits.maxPixels) {
    return {
      code: 'VIDEO_TOO_LARGE',
      message: `The video's frames are ${width}x${height} pixels, more than the ${limits.maxPixels} pixels per frame this server accepts.`,
    };
  }
  if ((probe.streams ?? 0) > limits.maxStreams) {
    return {
      code: 'TOO_MANY_STREAMS',
      message: `The file has ${probe.streams} streams, more than the ${limits.maxStreams} this server accepts.`,
    };
  }
  if (probe.video.fps > limits.maxFps) return fpsRefusal(probe.video.fps, limits);
  return null;
}

export function checkScanLimits(
  scan: Pick<FrameScan, 'timestamps'>,
  limits: MediaLimits,
): LimitRefusal | null {
  const n = scan.timestamps.length;
  if (n > limits.maxFrames) {
    return {
      code: 'TOO_MANY_FRAMES',
      message: `The video has ${n} frames, more than the ${limits.maxFrames} this server accepts.`,
    };
  }
  const seconds = lastFrameEnd(scan.timestamps);
  if (seconds > limits.maxSeconds) {
    return {
      code: 'VIDEO_TOO_LONG',
      message: `The video lasts ${Math.round(seconds)} seconds (by its last frame), longer than the ${limits.maxSeconds} seconds this server accepts.`,
    };
  }
  // the real rate: frames over the time they span (a header can state any rate)
  if (n >= 2) {
    const span = scan.timestamps[n - 1] - scan.timestamps[0];
    const fps = span > 0 ? (n - 1) / span : Number.POSITIVE_INFINITY;
    if (fps > limits.maxFps * 1.01) return fpsRefusal(fps, limits);
  }
  return null;
}

function fpsRefusal(fps: number, limits: MediaLimits): LimitRefusal {
  const shown = Number.isFinite(fps)
    ? `${Math.round(fps)} frames per second`
    : 'all its frames at the same time';
  return {
    code: 'FRAME_RATE_TOO_HIGH',
    message: `The video has ${shown}, more than the ${limits.maxFps} frames per second this server accepts.`,
  };
}

/**
 * A probe updated with what the scan measured: duration by the last frame, exact frame count.
 * The header's duration (0 when it states none) is kept only when the frames give no span (one
 * frame at 0): then one frame's time at the stated rate, so the duration is never 0 with a frame.
 */
export function withScan(probe: VideoProbe, scan: Pick<FrameScan, 'timestamps'>): VideoProbe {
  const oneFrame = scan.timestamps.length > 0 && probe.video.fps > 0 ? 1 / probe.video.fps : 0;
  return {
    ...probe,
    durationSec: lastFrameEnd(scan.timestamps) || probe.durationSec || oneFrame,
    video: { ...probe.video, frameCount: scan.timestamps.length, frameCountExact: true },
    scanned: true,
  };
}
