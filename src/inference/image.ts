/**
 * One still image → detections: ffprobe (size, and is it an image at all), ffmpeg (decode and
 * resize to the model input in C), then the detector. The ffmpeg/ffprobe paths come from the
 * caller (the media module picks system or bundled binaries).
 */
import { spawn } from 'node:child_process';
import type { ModelRegistry } from './registry.js';
import { ffmpegScaleFilter } from './resize.js';
import type { Detection, DetectOptions, FrameSize, ModelInput } from './types.js';

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

/** ffmpeg args decoding one image (path, or '-' for stdin) to raw RGB24 at the model's input size. */
export function decodeImageArgs(
  path: string,
  input: Pick<ModelInput, 'width' | 'height' | 'resize'>,
): string[] {
  return [
    '-v',
    'error',
    '-i',
    path,
    '-frames:v',
    '1',
    '-vf',
    ffmpegScaleFilter(input),
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    '-',
  ];
}

/** Reads ffprobe's JSON; returns the image size or throws InvalidImageError. */
export function parseImageProbe(json: string): FrameSize {
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

function run(
  bin: string,
  args: string[],
  stdin?: Buffer,
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => {
      if (err.length < 4096) err += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
    if (stdin && child.stdin) {
      // The tool may stop reading early (it has seen enough to fail): ignore EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    }
  });
}

export interface DetectImageOptions extends DetectOptions {
  ffmpegPath: string;
  ffprobePath: string;
  /** model name (default: the registry's default) */
  model?: string;
}

export interface ImageDetections {
  model: string;
  width: number;
  height: number;
  detections: Detection[];
}

export async function detectImageFile(
  registry: ModelRegistry,
  image: string | Buffer,
  opts: DetectImageOptions,
): Promise<ImageDetections> {
  const src = typeof image === 'string' ? image : '-';
  const stdin = typeof image === 'string' ? undefined : image;
  const probe = await run(opts.ffprobePath, probeImageArgs(src), stdin);
  if (probe.code !== 0) throw new InvalidImageError();
  const size = parseImageProbe(probe.stdout.toString('utf8'));
  const detector = await registry.get(opts.model);
  const { input } = detector.model;
  const decoded = await run(opts.ffmpegPath, decodeImageArgs(src, input), stdin);
  const expected = input.width * input.height * 3;
  if (decoded.code !== 0 || decoded.stdout.length < expected) {
    throw new InvalidImageError('The image could not be decoded; it may be truncated or corrupt.');
  }
  const [detections] = await detector.detect(
    [new Uint8Array(decoded.stdout.subarray(0, expected))],
    size,
    opts,
  );
  return { model: detector.model.name, width: size.width, height: size.height, detections };
}
