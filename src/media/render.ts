import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { withoutPaths } from '../errors.js';
import { childSucceeded, describeChildFailure, spawnMediaChild } from './av/child.js';
import type { OverlayFrame } from './render/overlay.js';
import type { RenderSpec } from './render/program.js';

/**
 * Annotated videos: the boxes of a job drawn into every frame of its video, as a browser-playable
 * MP4 (H.264 yuv420p, +faststart, same size and frame rate, audio kept). The work happens in a
 * child Node process (src/media/render/program.ts, node-av) started by the media child runner
 * (src/media/av/child.ts: wall-clock limit, RSS bound, AbortSignal): a crash there fails this
 * render, not the worker. The analysed frames go to it as an NDJSON file written page by page
 * and read back a block at a time, so neither process holds a whole job's detections.
 */

export { type OverlayFrame, type RenderFilter, type StoredDetection, selectBoxes } from './render/overlay.js';

/** The render failed; the message is one sentence a user can read (no paths). */
export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}

export interface RenderVideoOptions {
  input: string;
  /** where the MP4 goes (its folder is made; a partial file is removed on failure) */
  output: string;
  /** clockwise display rotation of the source (VideoProbe.video.rotation) */
  rotation: number;
  /** the container pinned at the upload (VideoProbe.pinnedFormat); absent: detected */
  format?: string;
  /** MAX_VIDEO_PIXELS: a frame over it fails the render with a sentence */
  maxPixels?: number;
  /** the analysed frames in frame order, in pages, with the boxes to draw (already filtered) */
  frames: AsyncIterable<OverlayFrame[]>;
  /** called now and then with the number of source frames written */
  onProgress?(frames: number): void;
  signal?: AbortSignal;
  /** the child is killed after this long (default 4 h) */
  timeoutMs?: number;
  /** the child's resident memory bound in MiB (default 2048) */
  maxRssMb?: number;
  /** the source's frame rate, for saying where a crash happened (seconds) */
  fps?: number;
  /** libx264 constant rate factor (default 20) and preset (default veryfast) */
  crf?: number;
  preset?: string;
}

const DEFAULT_TIMEOUT_MS = 4 * 3600 * 1000;
const DEFAULT_MAX_RSS_MB = 2048;

export interface RenderResult {
  /** source frames written (every frame of the video) */
  frames: number;
  /** whether the output has an audio stream */
  audio: boolean;
}

/** The render program next to this module (program.js from dist/, program.ts under tsx). */
const PROGRAM = new URL(
  import.meta.url.endsWith('.ts') ? './render/program.ts' : './render/program.js',
  import.meta.url,
);

/** Writes the analysed frames as NDJSON (one page at a time: bounded memory). */
async function writeOverlays(path: string, pages: AsyncIterable<OverlayFrame[]>): Promise<void> {
  const out = createWriteStream(path, { flags: 'w', mode: 0o600 });
  try {
    for await (const page of pages) {
      if (page.length === 0) continue;
      const text = `${page.map((f) => JSON.stringify(f)).join('\n')}\n`;
      if (!out.write(text)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await finished(out).catch(() => undefined);
  }
}

export async function renderVideo(opts: RenderVideoOptions): Promise<RenderResult> {
  opts.signal?.throwIfAborted();
  await mkdir(dirname(opts.output), { recursive: true });
  const overlays = `${opts.output}.overlays.ndjson`;
  try {
    await writeOverlays(overlays, opts.frames);
    opts.signal?.throwIfAborted();
    const spec: RenderSpec = {
      input: opts.input,
      output: opts.output,
      overlays,
      format: opts.format,
      rotation: opts.rotation,
      maxPixels: opts.maxPixels,
      crf: opts.crf ?? 20,
      preset: opts.preset ?? 'veryfast',
    };
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxRssMb = opts.maxRssMb ?? DEFAULT_MAX_RSS_MB;
    const child = spawnMediaChild({
      program: PROGRAM,
      args: [JSON.stringify(spec)],
      timeoutMs,
      maxRssMb,
      signal: opts.signal,
    });
    let result: RenderResult | null = null;
    let failure: string | null = null;
    let written = 0;
    const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      let m: { progress?: number; done?: boolean; frames?: number; audio?: boolean; error?: string };
      try {
        m = JSON.parse(line);
      } catch {
        continue; // not ours (a library printing to stdout)
      }
      if (typeof m.progress === 'number') {
        written = m.progress;
        opts.onProgress?.(written);
      } else if (m.done) result = { frames: m.frames ?? 0, audio: m.audio === true };
      else if (typeof m.error === 'string') failure = m.error;
    }
    const exit = await child.exited;
    if (childSucceeded(exit) && result) return result;
    await rm(opts.output, { force: true }).catch(() => undefined);
    opts.signal?.throwIfAborted();
    const fps = opts.fps && opts.fps > 0 ? opts.fps : null;
    const crashed = describeChildFailure(exit, 'The renderer', {
      atSec: fps ? written / fps : null,
      timeoutMs,
      maxRssMb,
    });
    if (crashed) throw new RenderError(`The annotated video could not be made: ${lowerFirst(crashed)}`);
    const reason = failure
      ? withoutPaths(failure).replace(/[.\s]+$/, '')
      : `the renderer exited with code ${exit.code}`;
    throw new RenderError(`The annotated video could not be made: ${reason}.`);
  } finally {
    await rm(overlays, { force: true }).catch(() => undefined);
  }
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
