/** Shared fixture helpers: paths, ffmpeg binaries, decoding a fixture to RGB24 at a size. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makerFfmpeg, makerFfprobe } from '../../../helpers/maker.js';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
// Debian's ffmpeg (test/helpers/maker.ts): the tests' own decoder for reference inputs
export const FFMPEG = makerFfmpeg();
export const FFPROBE = makerFfprobe();
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
