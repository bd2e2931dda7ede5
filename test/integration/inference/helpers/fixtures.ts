/** Shared fixture helpers: paths, ffmpeg binaries, decoding a fixture to RGB24 at a size. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const FFMPEG = join(ROOT, 'node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
export const FFPROBE = join(ROOT, 'node_modules/@ffprobe-installer/linux-x64/ffprobe');
export const CENTERNET_JSON = join(ROOT, 'node_modules/@vladmandic/human/models/centernet.json');

export { fixture } from '../../../fixtures/index.js';

/** Decodes an image with ffmpeg `-vf <filter> -pix_fmt rgb24 -f rawvideo`. */
export function decodeRgb(path: string, filter = 'scale=512:512'): Uint8Array {
  return new Uint8Array(
    execFileSync(FFMPEG, [
      '-v',
      'error',
      '-i',
      path,
      '-vf',
      filter,
      '-pix_fmt',
      'rgb24',
      '-f',
      'rawvideo',
      '-',
    ]),
  );
}
