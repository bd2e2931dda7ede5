/**
 * Frames of varied content at the model's input size, for int8 calibration and for measuring how
 * closely a model variant agrees with fp32: the fixture photos plus frames spread evenly over
 * real clips (people walking, a box, a cup, faces, trees). The calibration set and the
 * evaluation set never share a frame.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FIXTURES_DIR as FIXTURES } from '../../test/fixtures/index.js';
import { makerFfmpeg } from '../../test/helpers/maker.js';
import { decodeChunkFrames, engineScan, selectExpression } from './cli-frames.js';

export const FIXTURE_PHOTOS = ['astronaut.png', 'chelsea.png', 'coffee.png'];
/** Clips in MEDIA_SAMPLES_DIR (default /work/media-samples on the development machine). */
export const CLIPS = ['vtest.avi', 'box.mp4', 'cup.mp4', 'Megamind.avi', 'tree.avi'];
export const MEDIA_SAMPLES_DIR = process.env.MEDIA_SAMPLES_DIR ?? '/work/media-samples';

export interface LabelledFrame {
  /** "vtest.avi#123" or "chelsea.png" */
  source: string;
  rgb: Uint8Array;
}

/** `count` frame numbers out of `total`, evenly spread, each at `phase` (0..1) of its slot. */
export function spreadFrames(total: number, count: number, phase: number): number[] {
  const n = Math.min(total, count);
  const out = new Set<number>();
  for (let i = 0; i < n; i++) out.add(Math.min(total - 1, Math.floor(((i + phase) * total) / n)));
  return [...out].sort((a, b) => a - b);
}

export const CALIBRATION_PER_CLIP = 30;
export const EVALUATION_PER_CLIP = 48;
export const VALIDATION_PER_CLIP = 16;

/** `count` frames spread over the frames of 0..total-1 not in `taken` (disjoint by construction). */
function spreadOver(total: number, taken: number[], count: number, phase: number): number[] {
  const used = new Set(taken);
  const rest = Array.from({ length: total }, (_, i) => i).filter((i) => !used.has(i));
  return spreadFrames(rest.length, count, phase).map((i) => rest[i]);
}

/** Calibration frames of a clip of `total` frames: 30, at the start of each slot. */
export function calibrationIndices(total: number): number[] {
  return spreadFrames(total, CALIBRATION_PER_CLIP, 0);
}

/** Evaluation frames: 48 of the frames calibration does not use. */
export function evaluationIndices(total: number): number[] {
  return spreadOver(total, calibrationIndices(total), EVALUATION_PER_CLIP, 0.5);
}

/**
 * Validation frames: 16 used neither for calibration nor for evaluation, for choosing the
 * quantizer's settings without looking at the frames its agreement is reported on.
 */
export function validationIndices(total: number): number[] {
  return spreadOver(
    total,
    [...calibrationIndices(total), ...evaluationIndices(total)],
    VALIDATION_PER_CLIP,
    0.5,
  );
}

export function clipPaths(dir = MEDIA_SAMPLES_DIR): string[] {
  const missing = CLIPS.filter((c) => !existsSync(join(dir, c)));
  if (missing.length)
    throw new Error(`The sample clips ${missing.join(', ')} are missing from ${dir}: set MEDIA_SAMPLES_DIR.`);
  return CLIPS.map((c) => join(dir, c));
}

/** The given frames of a file (a photo: frame 0), scaled by `filter` to rgb24 of `frameBytes`. */
async function decodeSelected(
  file: string,
  frames: number[],
  filter: string,
  frameBytes: number,
): Promise<Uint8Array[]> {
  const ffmpeg = makerFfmpeg();
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-threads', '1', '-i', file];
  args.push('-map', '0:v:0', '-an', '-vf', `select='${selectExpression(frames)}',${filter}`);
  args.push('-fps_mode', 'passthrough', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  const out: Uint8Array[] = [];
  // copies: the generator's frames may share one buffer
  for await (const f of decodeChunkFrames(ffmpeg, args, frameBytes, { readAhead: 0 }))
    out.push(Uint8Array.from(f));
  if (out.length !== frames.length)
    throw new Error(`${basename(file)}: asked for ${frames.length} frames, ffmpeg gave ${out.length}.`);
  return out;
}

export interface FrameSetOptions {
  /** ffmpeg filter to the model input (ffmpegScaleFilter(model.input)) */
  filter: string;
  frameBytes: number;
  clipsDir?: string;
}

async function frameSet(
  indices: (total: number) => number[],
  photos: boolean,
  opts: FrameSetOptions,
): Promise<LabelledFrame[]> {
  const out: LabelledFrame[] = [];
  for (const p of photos ? FIXTURE_PHOTOS : []) {
    const [rgb] = await decodeSelected(join(FIXTURES, p), [0], opts.filter, opts.frameBytes);
    out.push({ source: p, rgb });
  }
  for (const clip of clipPaths(opts.clipsDir)) {
    const frames = indices((await engineScan(clip)).scan.timestamps.length);
    if (frames.length === 0) continue; // a short clip has no frames left for this set
    const rgbs = await decodeSelected(clip, frames, opts.filter, opts.frameBytes);
    for (const [i, rgb] of rgbs.entries()) out.push({ source: `${basename(clip)}#${frames[i]}`, rgb });
  }
  return out;
}

/** Calibration: the fixture photos and 30 frames of each clip (153 frames). */
export function calibrationFrames(opts: FrameSetOptions): Promise<LabelledFrame[]> {
  return frameSet(calibrationIndices, true, opts);
}

/** Evaluation: 48 other frames of each clip (240 frames; the photos are calibration frames). */
export function evaluationFrames(opts: FrameSetOptions): Promise<LabelledFrame[]> {
  return frameSet(evaluationIndices, false, opts);
}

/** Validation: 16 further frames of each clip that has them (64: tree.avi has none left). */
export function validationFrames(opts: FrameSetOptions): Promise<LabelledFrame[]> {
  return frameSet(validationIndices, false, opts);
}
