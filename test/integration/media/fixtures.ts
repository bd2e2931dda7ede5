import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makerFfmpeg, makerFfprobe } from '../../helpers/maker.js';

export const bins = { ffmpeg: makerFfmpeg(), ffprobe: makerFfprobe() };

export function run(program: string, args: string[]): Buffer {
  const r = spawnSync(program, args, { maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${r.stderr?.toString()}`);
  return r.stdout;
}

const ff = (args: string[]) => run(bins.ffmpeg, ['-y', '-hide_banner', '-loglevel', 'error', ...args]);
const src = (rate: number, seconds: number, size = '160x120') => [
  '-f',
  'lavfi',
  '-i',
  `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`,
];
const x264 = (extra: string[]) => [
  '-c:v',
  'libx264',
  '-preset',
  'ultrafast',
  '-pix_fmt',
  'yuv420p',
  ...extra,
];

export interface Fixtures {
  dir: string;
  /** 25 fps, keyframe every 25 frames (1 s), no B-frames, 6 s */
  cfr: string;
  /** 25 fps, B-frames (3), keyframe every 1 s, 6 s */
  bframes: string;
  /** the same as bframes in Matroska (dts missing on the first packet, 1/1000 time base) */
  bframesMkv: string;
  /** open GOP with B-frames (leading frames decoded after each I-frame, shown before it) */
  openGop: string;
  /** keyframes 3 frames apart at 30 fps (closer than ffmpeg's 0.13 s seek heuristic) with B-frames */
  dense: string;
  /** variable frame rate: 2 s at 10 fps, 2 s at 30 fps, 2 s at 7 fps, Matroska */
  vfrMkv: string;
  /** the same in MP4 (has a last packet flagged discard by the edit list) */
  vfrMp4: string;
  /** cfr with display rotation 90 degrees clockwise */
  rotated: string;
  cleanup(): void;
}

export function makeFixtures(): Fixtures {
  const dir = mkdtempSync(join(tmpdir(), 'wd-media-'));
  const p = (n: string) => join(dir, n);
  const gop1s = ['-g', '25', '-keyint_min', '25', '-sc_threshold', '0'];
  ff([...src(25, 6), ...x264([...gop1s, '-bf', '0']), p('cfr.mp4')]);
  ff([...src(25, 6), ...x264([...gop1s, '-bf', '3', '-preset', 'medium']), p('bframes.mp4')]);
  ff(['-i', p('bframes.mp4'), '-c', 'copy', p('bframes.mkv')]);
  ff([
    ...src(25, 6),
    ...x264(['-preset', 'medium', '-g', '20', '-bf', '3', '-x264opts', 'open_gop=1']),
    p('opengop.mkv'),
  ]);
  ff([
    ...src(30, 2),
    ...x264(['-preset', 'medium', '-g', '3', '-keyint_min', '3', '-bf', '2']),
    p('dense.mp4'),
  ]);
  ff([
    ...src(10, 2),
    ...src(30, 2),
    ...src(7, 2),
    '-filter_complex',
    '[0:v][1:v][2:v]concat=n=3:v=1:a=0,settb=1/1000',
    '-r',
    '1000',
    '-vsync',
    'vfr',
    ...x264(['-preset', 'medium', '-g', '12', '-bf', '2']),
    p('vfr.mkv'),
  ]);
  ff(['-i', p('vfr.mkv'), '-c', 'copy', p('vfr.mp4')]);
  ff(['-i', p('cfr.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=270', p('rotated.mp4')]);
  return {
    dir,
    cfr: p('cfr.mp4'),
    bframes: p('bframes.mp4'),
    bframesMkv: p('bframes.mkv'),
    openGop: p('opengop.mkv'),
    dense: p('dense.mp4'),
    vfrMkv: p('vfr.mkv'),
    vfrMp4: p('vfr.mp4'),
    rotated: p('rotated.mp4'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** One sequential decode of the whole file by ffmpeg (its own autorotate), hashed frame by frame. */
export function fullDecodeHashes(file: string, filter: string, frameBytes: number): string[] {
  const out = run(bins.ffmpeg, [
    '-nostdin',
    '-loglevel',
    'error',
    '-i',
    file,
    '-map',
    '0:v:0',
    '-vf',
    filter,
    '-vsync',
    'passthrough',
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ]);
  if (out.length % frameBytes !== 0) throw new Error('full decode is not a whole number of frames');
  const hashes: string[] = [];
  for (let o = 0; o < out.length; o += frameBytes) hashes.push(md5(out.subarray(o, o + frameBytes)));
  return hashes;
}

/** ffprobe -show_frames best_effort_timestamp_time of every decoded frame. */
export function frameTimes(file: string): number[] {
  const out = run(bins.ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'frame=best_effort_timestamp_time',
    '-of',
    'csv=p=0',
    file,
  ]);
  // newer ffprobe prints side data (e.g. H.264 SEI) of a frame as extra, empty csv fields/lines
  return out
    .toString()
    .split('\n')
    .map((l) => l.split(',')[0].trim())
    .filter((l) => l !== '')
    .map(Number);
}
