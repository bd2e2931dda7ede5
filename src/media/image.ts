/**
 * Still images (POST /v1/detect, `web-detector detect photo.jpg`): the media tool checks the
 * header's size against the pixel cap BEFORE decoding, then decodes and scales to a detector's
 * input (in C), in a child process with a time and memory bound.
 */
import { readFile } from 'node:fs/promises';
import { MediaToolError, runTool } from './av/run.js';
import { imageKind, readImageHeader } from './image-header.js';
import type { FrameTarget } from './scale.js';
import type { MediaSettings } from './settings.js';

export class InvalidImageError extends Error {
  override name = 'InvalidImageError';
  constructor(message = 'The file is not a JPEG, PNG or WebP image.') {
    super(message);
  }
}

/** The image is larger than this server accepts (a 413/422 rather than a 415). */
export class ImageTooLargeError extends InvalidImageError {
  override name = 'ImageTooLargeError';
}

export interface ImageSize {
  width: number;
  height: number;
}

/** Pure: the refusal for an image's bytes by its header alone, or null when it may be decoded. */
export function imageRefusal(bytes: Uint8Array, maxPixels: number): InvalidImageError | null {
  const h = readImageHeader(bytes);
  if (!h) return new InvalidImageError();
  if (h.width * h.height > maxPixels) {
    return new ImageTooLargeError(
      `The image is ${h.width}x${h.height} pixels, more than the ${maxPixels} pixels this server accepts.`,
    );
  }
  return null;
}

/**
 * Decodes a still image (a file path, or its bytes) to RGB24 at the target size. Returns the
 * image's own size too (boxes are mapped back to it). Throws InvalidImageError for anything that
 * is not a JPEG, PNG or WebP image, is over the pixel cap, or does not decode.
 */
export async function decodeStillImage(
  settings: Pick<MediaSettings, 'maxRssMb' | 'imageTimeoutMs' | 'limits'>,
  image: string | Uint8Array,
  target: FrameTarget,
  opts: { signal?: AbortSignal } = {},
): Promise<{ size: ImageSize; rgb: Uint8Array }> {
  const bytes = typeof image === 'string' ? await readFile(image) : image;
  const refusal = imageRefusal(bytes, settings.limits.maxPixels);
  if (refusal) throw refusal;
  const expected = target.width * target.height * 3;
  let out: Buffer;
  try {
    out = await runTool(
      'image',
      {
        width: target.width,
        height: target.height,
        resize: target.resize,
        maxPixels: settings.limits.maxPixels,
      },
      {
        what: 'The image decoder',
        input: bytes,
        timeoutMs: settings.imageTimeoutMs,
        maxRssMb: settings.maxRssMb,
        maxStdoutBytes: expected + 8,
        signal: opts.signal,
      },
    );
  } catch (e) {
    if (e instanceof MediaToolError) throw new InvalidImageError(e.message);
    throw e;
  }
  if (out.length !== expected + 8)
    throw new InvalidImageError('The image could not be decoded; it may be truncated or corrupt.');
  const size = { width: out.readUInt32LE(0), height: out.readUInt32LE(4) };
  return { size, rgb: new Uint8Array(out.buffer, out.byteOffset + 8, expected) };
}

/** Whether a file is a still image (JPEG, PNG, WebP), by its first bytes. */
export async function isStillImage(file: string): Promise<boolean> {
  const { open } = await import('node:fs/promises');
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(32);
    await fh.read(head, 0, 32, 0);
    return imageKind(head) !== null;
  } finally {
    await fh.close();
  }
}
