import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES_DIR } from '../fixtures/index.js';
import { makerFfmpeg, makerFfprobe } from './maker.js';

/**
 * Media made by the tests for the media corpus and hostile-file tests (issue 9, items 6 and 7),
 * with Debian's ffmpeg (test/helpers/maker.ts), never with the FFmpeg the service decodes with.
 * Files are cached in os.tmpdir()/web-detector-test-media/maker (delete the folder to remake
 * them); a file is written under a temporary name and renamed, so a killed run leaves no half file.
 */
export const MAKER_CACHE = join(tmpdir(), 'web-detector-test-media', 'maker');

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with a time bound; stdout goes to `stdoutFile` when given, else is collected. */
export function runTool(
  program: string,
  args: string[],
  opts: { timeoutMs?: number; stdoutFile?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errBytes = 0;
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => (opts.stdoutFile ? chunks.push(b) : out.push(b)));
    child.stderr.on('data', (b: Buffer) => {
      errBytes += b.length;
      if (errBytes < 64 * 1024) err.push(b);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (opts.stdoutFile) writeFileSync(opts.stdoutFile, Buffer.concat(chunks));
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/**
 * One made file, cached by name: `args(out)` are Debian ffmpeg's arguments writing `out`. With
 * `pipe`, ffmpeg writes to stdout (a non-seekable output: no index, no duration in the header)
 * and `out` is only the place the bytes end up.
 */
export async function made(
  name: string,
  args: (out: string) => string[],
  opts: { pipe?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  mkdirSync(MAKER_CACHE, { recursive: true });
  const out = join(MAKER_CACHE, name);
  if (existsSync(out)) return out;
  const tmp = join(MAKER_CACHE, `.${process.pid}.${Math.random().toString(36).slice(2)}.${name}`);
  const target = opts.pipe ? 'pipe:1' : tmp;
  const res = await runTool(
    makerFfmpeg(),
    ['-y', '-hide_banner', '-loglevel', 'error', '-threads', '2', ...args(target)],
    { timeoutMs: opts.timeoutMs, stdoutFile: opts.pipe ? tmp : undefined },
  );
  if (res.code !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`Debian's ffmpeg failed making ${name}: ${res.stderr.slice(0, 2000)}`);
  }
  renameSync(tmp, out);
  return out;
}

/**
 * A file derived from another by a function of its bytes (truncation, header patches), cached.
 * The cache is keyed by the source's bytes and the function's text (a `.key` file beside it): a
 * changed patch or a remade source remakes the file (a name-only cache once kept a rotated MP4
 * made before its display-matrix patch existed, and the rotation test read an unrotated file).
 */
export function derived(name: string, from: string, f: (buf: Buffer) => Buffer): string {
  mkdirSync(MAKER_CACHE, { recursive: true });
  const out = join(MAKER_CACHE, name);
  const source = readFileSync(from);
  const key = createHash('sha256').update(source).update('\0').update(f.toString()).digest('hex');
  const keyFile = join(MAKER_CACHE, `.${name}.key`);
  const cached = existsSync(out) && existsSync(keyFile) && readFileSync(keyFile, 'utf8') === key;
  if (!cached) {
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, f(source));
    renameSync(tmp, out);
    writeFileSync(keyFile, key);
  }
  return out;
}

/**
 * Tags the (single) track of an MP4/MOV to be shown turned a quarter clockwise: the display
 * matrix in `tkhd`, as a phone held upright writes it and as ffmpeg 6+ writes for
 * `-display_rotation -90` (Debian's ffmpeg 5.1 no longer writes a `rotate` tag). The matrix is
 * [0 1 0; -1 0 0; height 0 1] (16.16 fixed point, the last column 2.30).
 */
export function patchMp4Rotate90(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  const at = out.indexOf(Buffer.from('tkhd', 'latin1'));
  if (at < 0) throw new Error('no tkhd box');
  const body = at + 4;
  if (out[body] !== 0) throw new Error('tkhd is not version 0');
  // version/flags, ctime, mtime, track_id, reserved, duration, reserved(8), layer, group, volume, reserved
  const matrix = body + 40;
  const height = out.readUInt32BE(matrix + 40) >>> 16; // after the matrix: width, height (16.16)
  const m = [0, 0x10000, 0, -0x10000, 0, 0, height * 0x10000, 0, 0x40000000];
  m.forEach((v, i) => {
    out.writeInt32BE(v, matrix + 4 * i);
  });
  return out;
}

/**
 * An AVI without its index: the `idx1` chunk cut off the end and the "has index" / "must use
 * index" flags cleared in `avih`, as a recorder that was stopped before finishing leaves it.
 */
export function stripAviIndex(buf: Buffer): Buffer {
  const at = buf.lastIndexOf(Buffer.from('idx1', 'latin1'));
  if (at < 0) throw new Error('no idx1 chunk');
  const out = Buffer.from(buf.subarray(0, at));
  const avih = out.indexOf(Buffer.from('avih', 'latin1'));
  if (avih < 0) throw new Error('no avih chunk');
  const flags = avih + 8 + 12; // fourcc, size, then dwMicroSecPerFrame, dwMaxBytesPerSec, dwPaddingGranularity
  out.writeUInt32LE(out.readUInt32LE(flags) & ~0x30, flags);
  return out;
}

/** A small text file (playlists, concat lists), rewritten on every run (it may hold a port). */
export function textFile(name: string, text: string): string {
  mkdirSync(MAKER_CACHE, { recursive: true });
  const out = join(MAKER_CACHE, name);
  writeFileSync(out, text);
  return out;
}

/**
 * ffmpeg input arguments for real content: the astronaut photo (a person the detector finds),
 * panned slowly so consecutive frames differ, at `width`x`height` (odd sizes allowed) and `fps`,
 * for `seconds`. Returns the input and its `-vf` (so it must be the last input); the caller adds
 * codec and container options.
 */
export function personInput(spec: {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  /** more filters after the crop (e.g. transpose for a rotated file) */
  then?: string;
}): string[] {
  const { width: w, height: h, fps, seconds } = spec;
  // scale a little larger than the frame (even sizes), then crop a window that moves right
  const sw = 2 * Math.ceil((w * 1.2) / 2);
  const sh = 2 * Math.ceil((h * 1.2) / 2);
  return [
    '-loop',
    '1',
    '-framerate',
    String(fps),
    '-t',
    String(seconds),
    '-i',
    join(FIXTURES_DIR, 'astronaut.png'),
    '-vf',
    `format=rgb24,scale=${sw}:${sh},crop=${w}:${h}:'(iw-ow)*t/${seconds}':'(ih-oh)/2',setsar=1${spec.then ? `,${spec.then}` : ''}`,
  ];
}

/** A sine tone as a second input (for files with audio). */
export function toneInput(seconds: number): string[] {
  return ['-f', 'lavfi', '-t', String(seconds), '-i', 'sine=frequency=440:sample_rate=48000'];
}

/** What Debian's ffprobe decodes from the first video stream: frame times (relative to the first frame). */
export async function debianFrameTimes(file: string): Promise<number[]> {
  const r = await runTool(makerFfprobe(), [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_frames',
    '-show_entries',
    'frame=best_effort_timestamp_time',
    '-of',
    'json',
    file,
  ]);
  if (r.code !== 0) throw new Error(`Debian's ffprobe failed on ${file}: ${r.stderr.slice(0, 500)}`);
  const frames = (JSON.parse(r.stdout).frames ?? []) as { best_effort_timestamp_time?: string }[];
  const abs = frames.map((f) => Number(f.best_effort_timestamp_time ?? Number.NaN));
  // a frame without a timestamp (the last frame of an AVI with B-frames, in Debian's 5.1) gets
  // the one its neighbours imply, so the count stays the decoded count
  for (let i = 0; i < abs.length; i++) {
    if (Number.isFinite(abs[i])) continue;
    if (i >= 2 && Number.isFinite(abs[i - 1]) && Number.isFinite(abs[i - 2]))
      abs[i] = 2 * abs[i - 1] - abs[i - 2];
    else throw new Error(`Debian's ffprobe gives frame ${i} of ${file} no timestamp`);
  }
  return abs.map((t) => t - abs[0]);
}

/** Debian's ffprobe's packet and frame counts of the first video stream (`-count_packets -count_frames`). */
export async function debianCounts(file: string): Promise<{ packets: number; frames: number }> {
  const r = await runTool(makerFfprobe(), [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-count_frames',
    '-show_entries',
    'stream=nb_read_packets,nb_read_frames',
    '-of',
    'json',
    file,
  ]);
  if (r.code !== 0) throw new Error(`Debian's ffprobe failed on ${file}: ${r.stderr.slice(0, 500)}`);
  const s = JSON.parse(r.stdout).streams?.[0] ?? {};
  return { packets: Number(s.nb_read_packets), frames: Number(s.nb_read_frames) };
}

/**
 * Patches an MP4/MOV so that its header states `seconds` of duration while the samples stay as
 * they are: the 32-bit duration fields of `mvhd` (movie timescale), every `tkhd` (movie
 * timescale) and every `mdhd` (the track's own timescale). Version-0 boxes only (what ffmpeg
 * writes for short files); the file should be made with `-use_editlist 0` so no edit list states
 * the real length. Throws when a box is missing or of version 1.
 */
export function patchMp4Duration(buf: Buffer, seconds: number): Buffer {
  const out = Buffer.from(buf);
  let movieScale = 0;
  let patched = 0;
  const walk = (start: number, end: number) => {
    let p = start;
    while (p + 8 <= end) {
      let size = out.readUInt32BE(p);
      const type = out.toString('latin1', p + 4, p + 8);
      let header = 8;
      if (size === 1) {
        size = Number(out.readBigUInt64BE(p + 8));
        header = 16;
      } else if (size === 0) size = end - p;
      if (size < header || p + size > end) break;
      const body = p + header;
      if (type === 'moov' || type === 'trak' || type === 'mdia') walk(body, p + size);
      else if (type === 'mvhd' || type === 'tkhd' || type === 'mdhd') {
        if (out[body] !== 0) throw new Error(`${type} is version ${out[body]}, not 0`);
        // version(1) flags(3) ctime(4) mtime(4), then: mvhd/mdhd timescale(4) duration(4);
        // tkhd track_id(4) reserved(4) duration(4)
        if (type === 'mvhd') {
          movieScale = out.readUInt32BE(body + 12);
          out.writeUInt32BE(Math.round(seconds * movieScale), body + 16);
        } else if (type === 'tkhd') {
          if (!movieScale) throw new Error('tkhd before mvhd');
          out.writeUInt32BE(Math.round(seconds * movieScale), body + 20);
        } else {
          const scale = out.readUInt32BE(body + 12);
          out.writeUInt32BE(Math.round(seconds * scale), body + 16);
        }
        patched += 1;
      }
      p += size;
    }
  };
  walk(0, out.length);
  if (patched < 3) throw new Error(`patched ${patched} duration fields, expected mvhd, tkhd and mdhd`);
  return out;
}

/**
 * Real sample clips that Debian's `opencv-doc` package ships (OpenCV's own test and tutorial
 * media, BSD-licensed like OpenCV): extracted at test time from the package file that `.ci/run`
 * downloads with `apt-get download opencv-doc` into os.tmpdir()/web-detector-test-media/debs (or
 * the file `TEST_OPENCV_DOC_DEB` names). Returns null when the package file is not there.
 */
export const OPENCV_SAMPLES = {
  'vtest.avi': 'usr/share/doc/opencv-doc/examples/data/vtest.avi',
  'tree.avi': 'usr/share/doc/opencv-doc/examples/data/tree.avi',
  'Megamind.avi': 'usr/share/doc/opencv-doc/examples/data/Megamind.avi',
  'Megamind_bugy.avi': 'usr/share/doc/opencv-doc/examples/data/Megamind_bugy.avi',
  'box.mp4': 'usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz',
  'cup.mp4': 'usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz',
} as const;
export type OpencvSample = keyof typeof OPENCV_SAMPLES;

export function opencvDocDeb(): string | null {
  if (process.env.TEST_OPENCV_DOC_DEB) return process.env.TEST_OPENCV_DOC_DEB;
  const dir = join(tmpdir(), 'web-detector-test-media', 'debs');
  if (!existsSync(dir)) return null;
  const deb = readdirSync(dir)
    .filter((f) => /^opencv-doc_.*\.deb$/.test(f))
    .sort()
    .pop();
  return deb ? join(dir, deb) : null;
}

export async function opencvSamples(): Promise<Record<OpencvSample, string> | null> {
  const deb = opencvDocDeb();
  if (!deb) return null;
  const dir = join(tmpdir(), 'web-detector-test-media', 'opencv');
  const names = Object.keys(OPENCV_SAMPLES) as OpencvSample[];
  const result = Object.fromEntries(names.map((n) => [n, join(dir, n)])) as Record<OpencvSample, string>;
  if (names.every((n) => existsSync(result[n]))) return result;
  const work = join(dir, `.x${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // dpkg-deb writes the package's file tree to stdout as a tar; tar keeps only the samples
  const members = names.map((n) => `./${OPENCV_SAMPLES[n]}`);
  const r = await runTool(
    'sh',
    ['-c', 'w="$1"; shift; dpkg-deb --fsys-tarfile "$0" | tar -x -C "$w" "$@"', deb, work, ...members],
    {
      timeoutMs: 120_000,
    },
  );
  if (r.code !== 0)
    throw new Error(`extracting OpenCV's samples from ${deb} failed: ${r.stderr.slice(0, 500)}`);
  for (const n of names) {
    const from = join(work, OPENCV_SAMPLES[n]);
    if (from.endsWith('.gz')) {
      const z = await runTool('gzip', ['-dc', from], { stdoutFile: result[n] });
      if (z.code !== 0) throw new Error(`gunzip ${from}: ${z.stderr}`);
    } else renameSync(from, result[n]);
  }
  rmSync(work, { recursive: true, force: true });
  return result;
}

/** Runs `jobs` with at most `n` at a time (file making: the machine has 2 cores). */
export async function pool<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, lane));
  return results;
}
