import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
/**
 * Test videos with real content, made from the fixture photos: a slow pan/zoom over the
 * astronaut (a person) for `segmentSeconds`, then over the coffee photo (cups, a dining table).
 * The ground truth changes over time, which is what a video test should check.
 */
import { FIXTURES_DIR as FIXTURES } from '../fixtures/index.js';
import { makerFfmpeg } from './maker.js';
import { runProgram } from './run-program.js';

export { FIXTURES };

const CACHE = join(tmpdir(), 'web-detector-test-media');

export interface ContentVideoSpec {
  width: number;
  height: number;
  fps: number;
  segmentSeconds: number;
  /** keyframe interval in frames (default: one a second) */
  gop?: number;
}

export function panFilter(spec: ContentVideoSpec): string {
  const { width: w, height: h, fps } = spec;
  return `scale=${w}:-2,zoompan=z='min(zoom+0.001,1.2)':d=1:x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':s=${w}x${h}:fps=${fps},setsar=1`;
}

export async function personThenCupVideo(spec: ContentVideoSpec): Promise<string> {
  const { width, height, fps, segmentSeconds: t } = spec;
  const gop = spec.gop ?? fps;
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, `person-cup-${width}x${height}-${fps}-${t}s-g${gop}.mp4`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp.mp4`;
  const f = panFilter(spec);
  const ffmpeg = makerFfmpeg();
  const res = await runProgram(
    ffmpeg,
    [
      '-y',
      '-hide_banner',
      '-loglevel',
      'error',
      '-loop',
      '1',
      '-i',
      join(FIXTURES, 'astronaut.png'),
      '-loop',
      '1',
      '-i',
      join(FIXTURES, 'coffee.png'),
      '-filter_complex',
      `[0:v]${f},trim=duration=${t},setpts=PTS-STARTPTS[a];[1:v]${f},trim=duration=${t},setpts=PTS-STARTPTS[b];[a][b]concat=n=2:v=1[v]`,
      '-map',
      '[v]',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-g',
      String(gop),
      '-pix_fmt',
      'yuv420p',
      tmp,
    ],
    { timeoutMs: 300_000 },
  );
  if (res.code !== 0) throw new Error(`ffmpeg failed making the content video: ${res.stderr}`);
  renameSync(tmp, out);
  return out;
}
