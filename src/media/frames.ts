import { spawn } from 'node:child_process';
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
 * Runs ffmpeg with `args` (see buildChunkDecodeArgs) and yields its raw stdout in frames of exactly
 * `frameBytes` bytes. Backpressure: stdout is read one frame at a time on demand, so at most about
 * one frame (plus the OS pipe buffer) is read ahead while the consumer is busy; ffmpeg blocks.
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
  signal?.throwIfAborted();
  const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
