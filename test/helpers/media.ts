import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makerFfmpeg } from './maker.js';
import { runProgram } from './run-program.js';

/** Small real media made with ffmpeg once and cached in os.tmpdir()/web-detector-test-media. */
const CACHE = join(tmpdir(), 'web-detector-test-media');

async function make(name: string, args: (out: string) => string[]): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, name);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp${name.slice(name.lastIndexOf('.'))}`;
  const ffmpeg = makerFfmpeg();
  const res = await runProgram(ffmpeg, ['-y', '-hide_banner', '-loglevel', 'error', ...args(tmp)], {
    timeoutMs: 120_000,
  });
  if (res.code !== 0) throw new Error(`ffmpeg failed making ${name}: ${res.stderr}`);
  renameSync(tmp, out);
  return out;
}

/** A 2 s 320x240 10 fps H.264 MP4 (moov at the end, as ffmpeg writes by default). */
export function smallVideo(seconds = 2): Promise<string> {
  return make(`testsrc-${seconds}s.mp4`, (out) => [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=320x240:rate=10`,
    '-t',
    String(seconds),
    '-pix_fmt',
    'yuv420p',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    out,
  ]);
}

/** The same with the moov atom first (-movflags +faststart). */
export function faststartVideo(seconds = 2): Promise<string> {
  return make(`testsrc-${seconds}s-faststart.mp4`, (out) => [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=320x240:rate=10`,
    '-t',
    String(seconds),
    '-pix_fmt',
    'yuv420p',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-movflags',
    '+faststart',
    out,
  ]);
}

/** A PNG image (ffprobe sees a one-frame "video": the probe refuses still images). */
export function pngImage(): Promise<string> {
  return make('image.png', (out) => ['-f', 'lavfi', '-i', 'testsrc2=size=64x48', '-frames:v', '1', out]);
}

/** The first half of a file, cached. */
export function truncatedCopy(file: string, name: string): string {
  const out = join(CACHE, name);
  if (!existsSync(out)) {
    const buf = readFileSync(file);
    writeFileSync(out, buf.subarray(0, Math.floor(buf.length / 2)));
  }
  return out;
}
