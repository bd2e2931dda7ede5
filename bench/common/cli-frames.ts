// The old CLI decoder (Debian's ffmpeg as a program, raw RGB24 on stdout), kept for benchmarks that
// prepare frame sets or compare against the CLI; the service itself decodes with node-av.
import { execFile, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** ffmpeg could not decode the chunk; the message is one sentence a user can read. */
export class DecodeError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null = null,
    readonly stderrTail = '',
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

export interface DecodeChunkOptions {
  signal?: AbortSignal;
  /** frames ffmpeg must produce (see chunkOutputFrames); fewer is a DecodeError */
  expectedFrames?: number;
  /**
   * Frames ffmpeg may decode ahead of the consumer (default 8; 0: only what the pipe and this
   * stream buffer hold, about one 512x512 RGB24 frame of 786 kB). While the consumer is busy (the
   * pipeline waits for the detector before it reads the batch after next) ffmpeg keeps decoding
   * into this queue instead of blocking on a full pipe, and a batch's frames are then ready in a
   * single burst. The queue is ffmpeg's `fifo` muxer (its own writer thread); an ffmpeg built
   * without it decodes without read-ahead.
   */
  readAhead?: number;
}

export const DEFAULT_READ_AHEAD = 8;

const fifoSupport = new Map<string, Promise<boolean>>();

/** Whether this ffmpeg has the `fifo` muxer (asked once per binary). */
export function ffmpegHasFifo(ffmpeg: string): Promise<boolean> {
  let p = fifoSupport.get(ffmpeg);
  if (!p) {
    p = new Promise<boolean>((resolve) => {
      execFile(ffmpeg, ['-hide_banner', '-h', 'muxer=fifo'], { timeout: 10_000 }, (err, stdout) =>
        resolve(!err && /fifo_format/.test(String(stdout))),
      );
    });
    fifoSupport.set(ffmpeg, p);
  }
  return p;
}

/** The last meaningful line of ffmpeg's stderr, without the "[h264 @ 0x...]" prefix. */
export function ffmpegReason(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) =>
      l
        .replace(/^\[[^\]]*@ ?0x[0-9a-f]+\]\s*/i, '') // "[h264 @ 0x55d...] "
        .replace(/^(?:[a-z]+:)?\/?[^\s:]*\/[^:]*:\s+/i, '') // "/storage/path/file.mp4: " (no paths to users)
        .trim(),
    )
    .filter((l) => l.length > 0 && !/^Conversion failed!?$/i.test(l));
  const last = lines[lines.length - 1] ?? '';
  return last.replace(/[.\s]+$/, '').slice(0, 300);
}

/**
 * `args` with the raw-video output on stdout (`-f rawvideo pipe:1` at the end, as
 * buildChunkDecodeArgs makes them) behind a fifo muxer queue of `frames` frames; other args as
 * they are.
 */
export function withReadAhead(args: string[], frames: number): string[] {
  const n = args.length;
  if (frames <= 0 || n < 3 || args[n - 3] !== '-f' || args[n - 2] !== 'rawvideo') return args;
  return [
    ...args.slice(0, n - 3),
    '-c:v',
    'rawvideo',
    '-f',
    'fifo',
    '-fifo_format',
    'rawvideo',
    '-queue_size',
    String(Math.floor(frames)),
    '-drop_pkts_on_overflow',
    '0',
    args[n - 1],
  ];
}

/**
 * Runs ffmpeg with `args` (see buildChunkDecodeArgs) and yields its raw stdout in frames of exactly
 * `frameBytes` bytes. Backpressure: stdout is read one frame at a time on demand; ffmpeg decodes
 * up to `readAhead` frames ahead into its own queue (plus the OS pipe buffer), then blocks.
 *
 * Throws DecodeError when ffmpeg exits non-zero, ends in the middle of a frame, or gives fewer than
 * `expectedFrames` frames. When `signal` aborts it kills ffmpeg and throws the signal's reason;
 * when the consumer stops early (break/return/throw) ffmpeg is killed too.
 */
export async function* decodeChunkFrames(
  ffmpeg: string,
  args: string[],
  frameBytes: number,
  opts: DecodeChunkOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  if (!(Number.isInteger(frameBytes) && frameBytes > 0))
    throw new RangeError('frameBytes must be a positive integer');
  const { signal, expectedFrames } = opts;
  const readAhead = opts.readAhead ?? DEFAULT_READ_AHEAD;
  signal?.throwIfAborted();
  const fullArgs = readAhead > 0 && (await ffmpegHasFifo(ffmpeg)) ? withReadAhead(args, readAhead) : args;
  signal?.throwIfAborted();
  const child = spawn(ffmpeg, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-8192);
  });
  let spawnError: Error | null = null;
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (e) => {
      spawnError = e;
      resolve({ code: null, sig: null });
    });
    child.on('close', (code, sig) => resolve({ code, sig }));
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const onAbort = () => kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  const stdout = child.stdout as Readable;
  try {
    let count = 0;
    for (;;) {
      const frame = await readFrame(stdout, frameBytes, signal);
      if (frame === null) break;
      if (frame.length < frameBytes) {
        await exited;
        throw failure(await exited, count, `ffmpeg stopped in the middle of frame ${count + 1}`);
      }
      count++;
      yield new Uint8Array(frame.buffer, frame.byteOffset, frame.length);
    }
    const result = await exited;
    signal?.throwIfAborted();
    if (spawnError) throw new DecodeError(`ffmpeg could not be started: ${(spawnError as Error).message}.`);
    if (result.code !== 0) throw failure(result, count);
    if (expectedFrames != null && count < expectedFrames) {
      throw failure(result, count, `ffmpeg produced ${count} of the ${expectedFrames} frames expected`);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    kill();
    stdout.destroy();
  }

  function failure(
    r: { code: number | null; sig: NodeJS.Signals | null },
    count: number,
    what?: string,
  ): DecodeError {
    signal?.throwIfAborted();
    const reason = ffmpegReason(stderr);
    const head =
      what ??
      (r.sig
        ? `ffmpeg was killed by ${r.sig}`
        : `ffmpeg failed with exit code ${r.code} after ${count} frames`);
    const msg = reason ? `Video decoding failed: ${head} (${reason}).` : `Video decoding failed: ${head}.`;
    return new DecodeError(msg, r.code, stderr);
  }
}

/**
 * Reads exactly n bytes; null at a clean end of stream; a shorter buffer when the stream ends in
 * the middle. Rejects with the signal's reason when aborted.
 */
function readFrame(stream: Readable, n: number, signal?: AbortSignal): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      stream.off('readable', attempt);
      stream.off('end', attempt);
      stream.off('close', attempt);
      stream.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onError = (e: Error) => done(() => reject(e));
    const onAbort = () => done(() => reject(signal?.reason ?? new Error('aborted')));
    function attempt() {
      if (signal?.aborted) return onAbort();
      const b = stream.read(n) as Buffer | null;
      if (b !== null) return done(() => resolve(b));
      if (stream.readableEnded || stream.destroyed) {
        const rest = stream.read() as Buffer | null;
        done(() => resolve(rest && rest.length > 0 ? rest : null));
      }
    }
    stream.on('readable', attempt);
    stream.on('end', attempt);
    stream.on('close', attempt);
    stream.on('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    attempt();
  });
}

/** A select expression for these frame numbers, runs compressed: "between(n,0,4)+eq(n,9)". */
export function selectExpression(frames: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < frames.length; ) {
    let j = i;
    while (j + 1 < frames.length && frames[j + 1] === frames[j] + 1) j++;
    parts.push(i === j ? `eq(n,${frames[i]})` : `between(n,${frames[i]},${frames[j]})`);
    i = j + 1;
  }
  return parts.join('+');
}

/** Probe and packet scan with the service's engine (node-av, in the media tool). */
export async function engineScan(file: string) {
  const { mediaSettings } = await import('../../src/media/settings.js');
  const { probeVideo } = await import('../../src/media/probe.js');
  const { scanVideoFrames } = await import('../../src/media/packets.js');
  const settings = mediaSettings();
  const probe = await probeVideo(settings, file);
  return { probe, scan: await scanVideoFrames(settings, file, probe.pinnedFormat as string) };
}
