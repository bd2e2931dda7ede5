import { personThenCupVideo } from '../../test/helpers/content.js';
import { decodeChunkFrames } from './cli-frames.js';

/**
 * The benchmark video: the fixture photos panned and zoomed (a person, then cups on a table), H.264
 * (libx264 veryfast, one keyframe a second), cached under the OS temp folder like the tests' videos.
 */
export function contentVideo(seconds: number, width = 1920, height = 1080, fps = 30): Promise<string> {
  return personThenCupVideo({ width, height, fps, segmentSeconds: seconds / 2 });
}

/** ffmpeg arguments that write the video's frames, filtered by `vf`, as raw rgb24 to stdout. */
export function rawFramesArgs(
  file: string,
  vf: string,
  opts: { threads?: number; count?: number } = {},
): string[] {
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-threads',
    String(opts.threads ?? 1),
    '-i',
    file,
  ];
  args.push('-map', '0:v:0', '-an', '-vf', vf, '-vsync', 'passthrough');
  if (opts.count) args.push('-frames:v', String(opts.count));
  args.push('-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  return args;
}

/**
 * `count` frames spread evenly over the video (every `step`-th), decoded and scaled by `filter` to
 * rgb24 in memory: what the detector gets from ffmpeg in the pipeline, without the pipeline.
 */
export async function decodeFrames(
  ffmpeg: string,
  file: string,
  filter: string,
  frameBytes: number,
  opts: {
    step?: number;
    count?: number;
    threads?: number /** count frames only, keep none */;
    discard?: boolean;
  } = {},
): Promise<Uint8Array[]> {
  const step = Math.max(1, opts.step ?? 1);
  const vf = step > 1 ? `select='not(mod(n,${step}))',${filter}` : filter;
  const args = rawFramesArgs(file, vf, { threads: opts.threads, count: opts.count });
  const out: Uint8Array[] = [];
  const none = new Uint8Array(0);
  for await (const f of decodeChunkFrames(ffmpeg, args, frameBytes)) out.push(opts.discard ? none : f);
  return out;
}
