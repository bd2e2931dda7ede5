/**
 * One frame of a video as a small JPEG: job thumbnails in the web UI's list, and track
 * thumbnails (a crop around a box). The media tool's `jpeg` decodes the frame shown at `timeSec`
 * (seconds from frame 0), turns it upright, crops (in displayed source pixels), scales to `width`
 * keeping the aspect ratio (even height), and encodes it with FFmpeg's mjpeg encoder.
 */
import { MediaToolError, runTool } from './av/run.js';
import type { MediaSettings } from './settings.js';

/** Widths a frame may be asked for: small, even (chroma subsampling), never an upscale bomb. */
export const FRAME_JPEG_MIN_WIDTH = 16;
export const FRAME_JPEG_MAX_WIDTH = 640;

/** A JPEG is at most this large at 640 px wide: anything bigger means something went wrong. */
const MAX_JPEG_BYTES = 4 * 1024 * 1024;

export interface FrameJpegOptions {
  /** VideoProbe.pinnedFormat */
  format: string;
  /** seconds from the video's first frame */
  timeSec: number;
  /** output width in pixels (FRAME_JPEG_MIN_WIDTH..FRAME_JPEG_MAX_WIDTH) */
  width: number;
  /** a region of the displayed frame (after rotation), in source pixels */
  crop?: { x: number; y: number; w: number; h: number } | null;
  /** VideoProbe.video.rotation */
  rotation?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A rectangle of the displayed frame in pixels, as boxes are (a track's thumbnail: its box). */
export interface FrameCrop {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Pure: a box as the tool's crop, whole pixels covering it, starting inside the frame and at least
 * 2x2 (a box may reach a fraction past the edge; FFmpeg's crop filter clips x and y itself).
 */
export function cropRegion(crop: FrameCrop): { x: number; y: number; w: number; h: number } {
  const v = [crop.x, crop.y, crop.width, crop.height];
  if (!v.every(Number.isFinite)) throw new RangeError('crop must be finite numbers of pixels.');
  const x = Math.max(0, Math.floor(crop.x));
  const y = Math.max(0, Math.floor(crop.y));
  return {
    x,
    y,
    w: Math.max(2, Math.ceil(crop.x + crop.width) - x),
    h: Math.max(2, Math.ceil(crop.y + crop.height) - y),
  };
}

export class FrameJpegError extends Error {
  override name = 'FrameJpegError';
}

/** Pure: the tool's `jpeg` request; throws RangeError for a bad time, width or crop. */
export function frameJpegRequest(file: string, o: FrameJpegOptions) {
  if (!Number.isFinite(o.timeSec) || o.timeSec < 0)
    throw new RangeError('timeSec must be a time in seconds, 0 or more.');
  if (!Number.isInteger(o.width) || o.width < FRAME_JPEG_MIN_WIDTH || o.width > FRAME_JPEG_MAX_WIDTH) {
    throw new RangeError(
      `width must be a whole number from ${FRAME_JPEG_MIN_WIDTH} to ${FRAME_JPEG_MAX_WIDTH}.`,
    );
  }
  const c = o.crop ?? null;
  if (c && ![c.x, c.y, c.w, c.h].every(Number.isFinite)) throw new RangeError('crop must be finite numbers.');
  if (c && (c.w < 2 || c.h < 2 || c.x < 0 || c.y < 0))
    throw new RangeError('crop must be at least 2x2 pixels inside the frame.');
  return { file, format: o.format, timeSec: o.timeSec, width: o.width, crop: c, rotation: o.rotation ?? 0 };
}

/**
 * The JPEG of the frame at `timeSec`. Throws FrameJpegError when it cannot be made or there is
 * no frame at that time (a time past the end).
 */
export async function frameJpeg(
  settings: Pick<MediaSettings, 'maxRssMb' | 'imageTimeoutMs'> & Partial<Pick<MediaSettings, 'limits'>>,
  file: string,
  o: FrameJpegOptions,
): Promise<Buffer> {
  let out: Buffer;
  try {
    // the decoder refuses a picture over MAX_VIDEO_PIXELS (a stream that changes size in band)
    const req = { ...frameJpegRequest(file, o), maxPixels: settings.limits?.maxPixels };
    out = await runTool('jpeg', req, {
      what: 'The thumbnail decoder',
      timeoutMs: o.timeoutMs ?? settings.imageTimeoutMs,
      maxRssMb: settings.maxRssMb,
      maxStdoutBytes: MAX_JPEG_BYTES,
      signal: o.signal,
    });
  } catch (e) {
    if (e instanceof MediaToolError) throw new FrameJpegError(e.message);
    throw e;
  }
  if (out.length < 4 || out[0] !== 0xff || out[1] !== 0xd8) {
    throw new FrameJpegError(`There is no frame at ${o.timeSec.toFixed(3)} s.`);
  }
  return out;
}
