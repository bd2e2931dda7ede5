/**
 * Decode throughput into Node (issue 9): 1080p H.264 and HEVC, frames per second arriving in this
 * process as RGB24, the service's engine (node-av's FFmpeg 8.1 in the media tool, a child
 * process) against the 2018 ffmpeg CLI that @ffmpeg-installer/linux-x64@4.1.0 shipped (the
 * previous engine), side by side in one run, each decoding the same file to the same size.
 *
 *   node --import tsx bench/decode.ts [--seconds 10] [--runs 3] [--threads 1]
 *
 * The old binary: OLD_FFMPEG, else /tmp/ffmpeg-old/ffmpeg, else `npm pack
 * @ffmpeg-installer/linux-x64@4.1.0` into /tmp (not a dependency). The clips are made once with
 * Debian's ffmpeg (test/helpers/maker.ts) and cached under the OS temp folder.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type * as DecodePlan from '../src/media/decode-plan.js';
import type * as Frames from '../src/media/frames.js';
import type * as Packets from '../src/media/packets.js';
import type * as Probe from '../src/media/probe.js';
import { ffmpegScaleFilter } from '../src/media/scale.js';
import type * as Settings from '../src/media/settings.js';
import type * as Process from '../src/pipeline/tasks/process.js';
import { makerFfmpeg } from '../test/helpers/maker.js';
import { runProgram } from '../test/helpers/run-program.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
  },
});
// the compiled code (npm run build), as the service runs: the media tool is dist/media/av/tool.js,
// plain node (from src/ under tsx, each child would compile TypeScript first)
const dist = new URL('../dist/', import.meta.url);
if (!existsSync(new URL('media/av/tool.js', dist))) throw new Error('run npm run build first');
const { chunkDecodeRequest } = (await import(
  new URL('media/decode-plan.js', dist).href
)) as typeof DecodePlan;
const { decodeChunkFrames } = (await import(new URL('media/frames.js', dist).href)) as typeof Frames;
const { scanVideoFrames } = (await import(new URL('media/packets.js', dist).href)) as typeof Packets;
const { probeVideo } = (await import(new URL('media/probe.js', dist).href)) as typeof Probe;
const { mediaSettings } = (await import(new URL('media/settings.js', dist).href)) as typeof Settings;
const { chunkPlans } = (await import(new URL('pipeline/tasks/process.js', dist).href)) as typeof Process;
const seconds = Number(values.seconds);
const runs = Math.max(1, Number(values.runs));
const threads = Math.max(1, Number(values.threads));
const fps = 30;

async function oldFfmpeg(): Promise<string> {
  const explicit = process.env.OLD_FFMPEG;
  if (explicit) return explicit;
  if (existsSync('/tmp/ffmpeg-old/ffmpeg')) return '/tmp/ffmpeg-old/ffmpeg';
  const dir = '/tmp/ffmpeg-installer-4.1.0';
  const bin = join(dir, 'package', 'ffmpeg');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const pack = await runProgram('npm', [
      'pack',
      '@ffmpeg-installer/linux-x64@4.1.0',
      '--pack-destination',
      dir,
    ]);
    if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
    const tgz = pack.stdout.toString().trim().split('\n').pop() as string;
    const untar = await runProgram('tar', ['-xzf', join(dir, tgz), '-C', dir]);
    if (untar.code !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  }
  return bin;
}

async function clip(codec: 'h264' | 'hevc'): Promise<string> {
  const file = join(tmpdir(), `web-detector-bench-decode-${codec}-${seconds}s.mp4`);
  if (existsSync(file)) return file;
  const enc =
    codec === 'h264'
      ? ['-c:v', 'libx264', '-preset', 'veryfast']
      : ['-c:v', 'libx265', '-preset', 'ultrafast', '-tag:v', 'hvc1'];
  const r = await runProgram(
    makerFfmpeg(),
    [
      '-y',
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=1920x1080:rate=${fps}`,
      '-t',
      String(seconds),
      ...enc,
      '-g',
      String(fps),
      '-pix_fmt',
      'yuv420p',
      file,
    ],
    { timeoutMs: 1_800_000 },
  );
  if (r.code !== 0) throw new Error(`making the ${codec} clip failed: ${r.stderr}`);
  return file;
}

/** The old engine: the CLI writing raw RGB24 to a pipe this process reads (as src/media did). */
function cliDecode(ffmpeg: string, file: string, w: number, h: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const vf = ffmpegScaleFilter({ width: w, height: h, resize: 'stretch' });
    const child = spawn(
      ffmpeg,
      [
        '-nostdin',
        '-v',
        'error',
        '-threads',
        String(threads),
        '-i',
        file,
        '-map',
        '0:v:0',
        '-vf',
        vf,
        '-vsync',
        'passthrough',
        '-pix_fmt',
        'rgb24',
        '-f',
        'rawvideo',
        'pipe:1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let bytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      bytes += b.length;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Math.floor(bytes / (w * h * 3))) : reject(new Error(`ffmpeg exit ${code}`)),
    );
  });
}

const settings = mediaSettings({ decodeTimeoutMs: 3_600_000 });

/**
 * The new engine: the media tool's decode of every frame, as the pipeline runs one chunk (the
 * probe and the packet scan, done once per job before the 202, are not timed).
 */
async function enginePlan(file: string, w: number, h: number) {
  const probe = await probeVideo(settings, file);
  const scan = await scanVideoFrames(settings, file, probe.pinnedFormat as string);
  const all = scan.timestamps.map((_, i) => i);
  const [plan] = chunkPlans(scan, all, 1e9);
  return chunkDecodeRequest({
    file,
    format: probe.pinnedFormat as string,
    timeBase: probe.video.timeBase,
    startFrame: 0,
    startSec: 0,
    sample: plan.sample,
    target: { width: w, height: h, resize: 'stretch' },
    rotation: 0,
    threads,
  });
}

async function engineDecode(req: Awaited<ReturnType<typeof enginePlan>>): Promise<number> {
  let n = 0;
  for await (const _ of decodeChunkFrames(settings, req)) n++;
  return n;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const old = await oldFfmpeg();
console.log(
  `old engine: ${old}; new engine: node-av 6.1.1 (FFmpeg 8.1) in the media tool; ${threads} decoder thread(s), ${runs} runs, median`,
);
console.log('| clip | output | old CLI (2018) frames/s | node-av frames/s | ratio |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const codec of ['h264', 'hevc'] as const) {
  const file = await clip(codec);
  for (const [w, h] of [
    [512, 512],
    [1920, 1080],
  ] as const) {
    const rate = async (f: () => Promise<number>) => {
      const xs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const n = await f();
        xs.push(n / ((performance.now() - t0) / 1000));
      }
      return median(xs);
    };
    // alternate so that a noisy neighbour hurts both alike
    const a = await rate(() => cliDecode(old, file, w, h));
    const req = await enginePlan(file, w, h);
    const b = await rate(() => engineDecode(req));
    console.log(
      `| 1080p ${codec === 'h264' ? 'H.264' : 'HEVC'} ${seconds} s ${fps} fps | ${w}x${h} RGB24 | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)} |`,
    );
  }
}
