/**
 * One frame of a video as a small JPEG (job thumbnails in the web UI's list). Self-contained on
 * purpose: an argument builder that is a pure function, and a runner around runProgram.
 */
import { runProgram } from './run.js';

/** Widths a frame may be asked for: small, even (chroma subsampling), never an upscale bomb. */
export const FRAME_JPEG_MIN_WIDTH = 16;
export const FRAME_JPEG_MAX_WIDTH = 640;

/** A JPEG is at most this large at 640 px wide: anything bigger means something went wrong. */
const MAX_JPEG_BYTES = 4 * 1024 * 1024;

/**
 * ffmpeg args writing the frame shown at `timeSec` (input seek: fast, lands on the frame at or
 * after the time), scaled to `width` px wide keeping the aspect ratio (even height), as one JPEG
 * on stdout. Rotation metadata is applied (ffmpeg autorotates), as in the analysis.
 */
/** A rectangle of the displayed frame in pixels (a track's thumbnail: its box). */
export interface FrameCrop {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The crop filter for `crop`, clamped to the picture by ffmpeg itself (a box may reach past the
 * edge by a pixel, and the displayed size is only known after autorotation): at least 2x2.
 */
export function cropFilter(crop: FrameCrop): string {
  const v = [crop.x, crop.y, crop.width, crop.height];
  if (!v.every(Number.isFinite)) throw new RangeError('crop must be finite numbers of pixels.');
  const x = Math.max(0, Math.floor(crop.x));
  const y = Math.max(0, Math.floor(crop.y));
  const w = Math.max(2, Math.ceil(crop.width));
  const h = Math.max(2, Math.ceil(crop.height));
  return `crop=w=min(${w}\\,iw):h=min(${h}\\,ih):x=min(${x}\\,iw-ow):y=min(${y}\\,ih-oh)`;
}

export function frameJpegArgs(file: string, timeSec: number, width: number, crop?: FrameCrop): string[] {
  if (!Number.isFinite(timeSec) || timeSec < 0)
    throw new RangeError('timeSec must be a time in seconds, 0 or more.');
  if (!Number.isInteger(width) || width < FRAME_JPEG_MIN_WIDTH || width > FRAME_JPEG_MAX_WIDTH) {
    throw new RangeError(
      `width must be a whole number from ${FRAME_JPEG_MIN_WIDTH} to ${FRAME_JPEG_MAX_WIDTH}.`,
    );
  }
  const even = width - (width % 2);
  return [
    ...['-hide_banner', '-v', 'error', '-nostdin'],
    ...['-ss', timeSec.toFixed(3), '-i', file],
    ...['-map', '0:v:0', '-frames:v', '1', '-an', '-sn', '-dn'],
    ...['-vf', `${crop ? `${cropFilter(crop)},` : ''}scale=${even}:-2:flags=bilinear`],
    ...['-q:v', '5', '-f', 'mjpeg', '-'],
  ];
}

export class FrameJpegError extends Error {
  override name = 'FrameJpegError';
}

/**
 * The JPEG of the frame at `timeSec`. Throws FrameJpegError when ffmpeg fails or there is no
 * frame at that time (a time past the end gives ffmpeg nothing to encode).
 */
export async function frameJpeg(
  ffmpeg: string,
  file: string,
  timeSec: number,
  width: number,
  opts: { timeoutMs?: number; signal?: AbortSignal; crop?: FrameCrop } = {},
): Promise<Buffer> {
  const r = await runProgram(ffmpeg, frameJpegArgs(file, timeSec, width, opts.crop), {
    timeoutMs: opts.timeoutMs ?? 20_000,
    maxStdoutBytes: MAX_JPEG_BYTES,
    signal: opts.signal,
  });
  if (r.code !== 0)
    throw new FrameJpegError(`ffmpeg could not extract a frame: ${r.stderr.trim().slice(-300)}`);
  // a JPEG starts with FF D8 (SOI)
  if (r.stdout.length < 4 || r.stdout[0] !== 0xff || r.stdout[1] !== 0xd8) {
    throw new FrameJpegError(`There is no frame at ${timeSec.toFixed(3)} s.`);
  }
  return r.stdout;
}
