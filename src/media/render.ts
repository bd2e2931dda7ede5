import { fork } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RenderSpec } from './render/child.js';
import type { OverlayFrame } from './render/overlay.js';

/**
 * Annotated videos: the boxes of a job drawn into every frame of its video, as a browser-playable
 * MP4 (H.264 yuv420p, +faststart, same size and frame rate, audio kept). The work happens in a
 * child Node process (src/media/render/child.ts, node-av): a crash there fails this render, not
 * the worker. The analysed frames reach it page by page as it asks for them, so neither process
 * holds a whole job's detections.
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
  /** the analysed frames in frame order, in pages, with the boxes to draw (already filtered) */
  frames: AsyncIterable<OverlayFrame[]>;
  /** called now and then with the number of source frames written */
  onProgress?(frames: number): void;
  signal?: AbortSignal;
  /** the child is killed after this long (default: no limit) */
  timeoutMs?: number;
  /** libx264 constant rate factor (default 20) and preset (default veryfast) */
  crf?: number;
  preset?: string;
}

export interface RenderResult {
  /** source frames written (every frame of the video) */
  frames: number;
  /** whether the output has an audio stream */
  audio: boolean;
}

type ChildMessage =
  | { type: 'more' }
  | { type: 'progress'; frames: number }
  | { type: 'done'; frames: number; audio: boolean }
  | { type: 'error'; message: string };

/** The child program next to this module (dist/…/child.js; under tsx, child.ts with tsx's loader). */
function childProgram(): { path: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  const ts = self.endsWith('.ts');
  const path = fileURLToPath(new URL(`./render/child.${ts ? 'ts' : 'js'}`, import.meta.url));
  return { path, execArgv: ts ? ['--import', 'tsx'] : [] };
}

const withoutPaths = (s: string) => s.replace(/(?:\/[^\s/:'"]+)+\/?/g, '<file>');

export async function renderVideo(opts: RenderVideoOptions): Promise<RenderResult> {
  opts.signal?.throwIfAborted();
  await mkdir(dirname(opts.output), { recursive: true });
  const { path, execArgv } = childProgram();
  const child = fork(path, [], {
    execArgv,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4096);
  });
  const pages = opts.frames[Symbol.asyncIterator]();
  let result: RenderResult | null = null;
  let failure: string | null = null;
  let timedOut = false;
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        kill();
      }, opts.timeoutMs)
    : undefined;
  const onAbort = () => kill();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  child.on('message', (m: ChildMessage) => {
    if (m.type === 'more') {
      pages.next().then(
        (r) => child.connected && child.send({ type: 'frames', frames: r.done ? [] : r.value }),
        (e: unknown) => {
          failure = `the detections could not be read (${e instanceof Error ? e.message : String(e)})`;
          kill();
        },
      );
    } else if (m.type === 'progress') opts.onProgress?.(m.frames);
    else if (m.type === 'done') result = { frames: m.frames, audio: m.audio };
    else if (m.type === 'error') failure = m.message;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.on('error', (error) => resolve({ code: null, signal: null, error }));
      child.on('exit', (code, signal) => resolve({ code, signal }));
    },
  );
  child.send({
    type: 'start',
    spec: {
      input: opts.input,
      output: opts.output,
      rotation: opts.rotation,
      crf: opts.crf ?? 20,
      preset: opts.preset ?? 'veryfast',
    } satisfies RenderSpec,
  });
  const exit = await exited;
  clearTimeout(timer);
  opts.signal?.removeEventListener('abort', onAbort);
  await pages.return?.().catch(() => undefined);
  const done = result as RenderResult | null;
  if (exit.code === 0 && done) return done;
  await rm(opts.output, { force: true }).catch(() => undefined);
  opts.signal?.throwIfAborted();
  const reason = failure
    ? withoutPaths(failure).replace(/[.\s]+$/, '')
    : timedOut
      ? `it took longer than ${Math.round((opts.timeoutMs ?? 0) / 1000)} seconds`
      : exit.error
        ? `the render process could not be started (${exit.error.message})`
        : exit.signal
          ? `the render process was stopped by ${exit.signal}${stderr ? ` (${withoutPaths(lastLine(stderr))})` : ''}`
          : `the render process exited with code ${exit.code}`;
  throw new RenderError(`The annotated video could not be made: ${reason}.`);
}

function lastLine(s: string): string {
  const lines = s.trim().split(/\r?\n/);
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}
