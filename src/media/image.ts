/**
 * Still images (POST /v1/detect, `web-detector detect photo.jpg`): ffprobe says whether a file is
 * an image and its size, ffmpeg decodes it to raw RGB24 at a detector's input size (in C).
 */
import { runProgram } from './run.js';
import { type FrameTarget, ffmpegScaleFilter } from './scale.js';

export class InvalidImageError extends Error {
  override name = 'InvalidImageError';
  constructor(message = 'The file is not a JPEG, PNG or WebP image.') {
    super(message);
  }
}

const IMAGE_CODECS = new Set(['mjpeg', 'png', 'webp']);

/** ffprobe args printing the first video stream's codec and size, and the container, as JSON. */
export function probeImageArgs(path: string): string[] {
  return [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,width,height:format=format_name',
    '-of',
    'json',
    path,
  ];
}

/** ffmpeg args decoding one image (path, or '-' for stdin) to raw RGB24 at the target size. */
export function decodeImageArgs(path: string, target: FrameTarget): string[] {
  return [
    '-v',
    'error',
    '-i',
    path,
    '-frames:v',
    '1',
    '-vf',
    ffmpegScaleFilter(target),
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    '-',
  ];
}

export interface ImageSize {
  width: number;
  height: number;
}

/** Reads ffprobe's JSON; returns the image size or throws InvalidImageError. */
export function parseImageProbe(json: string): ImageSize {
  let parsed: {
    streams?: { codec_name?: string; width?: number; height?: number }[];
    format?: { format_name?: string };
  };
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new InvalidImageError();
  }
  const s = parsed.streams?.[0];
  const format = parsed.format?.format_name ?? '';
  // A JPEG-coded stream inside a video container (MJPEG .avi) is not an image upload.
  const still = format.includes('pipe') || format.includes('image2') || format === 'webp';
  if (!s?.codec_name || !IMAGE_CODECS.has(s.codec_name) || !still || !s.width || !s.height)
    throw new InvalidImageError();
  return { width: s.width, height: s.height };
}

/**
 * Decodes a still image (a file path, or its bytes) to RGB24 at the target size. Returns the
 * image's own size too (boxes are mapped back to it). Throws InvalidImageError for anything that
 * is not a JPEG, PNG or WebP image, or does not decode.
 */
export async function decodeStillImage(
  bins: { ffmpeg: string; ffprobe: string },
  image: string | Buffer,
  target: FrameTarget,
): Promise<{ size: ImageSize; rgb: Uint8Array }> {
  const src = typeof image === 'string' ? image : '-';
  const input = typeof image === 'string' ? undefined : image;
  const probe = await runProgram(bins.ffprobe, probeImageArgs(src), { input, timeoutMs: 30_000 });
  if (probe.code !== 0) throw new InvalidImageError();
  const size = parseImageProbe(probe.stdout.toString('utf8'));
  const expected = target.width * target.height * 3;
  const decoded = await runProgram(bins.ffmpeg, decodeImageArgs(src, target), {
    input,
    timeoutMs: 60_000,
    maxStdoutBytes: expected + 1,
  });
  if (decoded.code !== 0 || decoded.stdout.length < expected) {
    throw new InvalidImageError('The image could not be decoded; it may be truncated or corrupt.');
  }
  return { size, rgb: new Uint8Array(decoded.stdout.subarray(0, expected)) };
}

/** Whether a file is a still image (as opposed to a video), by ffprobe's container name. */
export async function isStillImage(ffprobe: string, file: string): Promise<boolean> {
  const r = await runProgram(
    ffprobe,
    ['-v', 'error', '-show_entries', 'format=format_name', '-of', 'csv=p=0', file],
    { timeoutMs: 30_000 },
  );
  if (r.code !== 0) throw new InvalidImageError(`${file} cannot be read as an image or a video.`);
  return /(image2|png_pipe|jpeg_pipe|webp_pipe|bmp_pipe)/.test(r.stdout.toString());
}
