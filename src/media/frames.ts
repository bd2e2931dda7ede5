import { childSucceeded, spawnMediaChild } from './av/child.js';
import {
  type DecodeRequest,
  type DecodeSummary,
  decodeRecordHeader,
  RECORD_HEADER_BYTES,
  RecordKind,
} from './av/protocol.js';
import { toolFailure } from './av/run.js';
import type { MediaSettings } from './settings.js';

/**
 * One chunk's frames from the media tool's `decode` (a child process: see av/child.ts), matched
 * to the planned frames by pts in the tool, so a frame that does not decode leaves a gap, never a
 * shift: each frame says which planned frame it is.
 */

/** The chunk could not be decoded (or not to its end); the message is one sentence a user can read. */
export class DecodeError extends Error {
  override name = 'DecodeError';
  constructor(
    message: string,
    /** frames that came out before the failure */
    readonly framesOut: number,
    /** true when the process crashed, was killed, or ran past a bound (rather than refusing) */
    readonly crashed: boolean,
    /**
     * the tool's code for a refusal of the whole video (FRAME_TOO_LARGE: a frame over
     * MAX_VIDEO_PIXELS), which a retry or skipping the chunk cannot make right
     */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export interface DecodedFrame {
  /** index into the request's `frames` (the planned frame this is) */
  index: number;
  /** its pts, in the stream's time base */
  pts: number;
  /** RGB24, request.width x request.height */
  rgb: Uint8Array;
}

export interface DecodeChunkOptions {
  signal?: AbortSignal;
  /**
   * Frames read from the tool ahead of the consumer (default 8): while the detector is busy the
   * tool keeps decoding into this queue, then blocks on the full pipe (backpressure).
   */
  readAhead?: number;
  /** wall-clock limit (default settings.decodeTimeoutMs) */
  timeoutMs?: number;
  /** seconds (from frame 0) of each planned frame, for the sentence when it crashes */
  timestamps?: readonly number[];
}

export const DEFAULT_READ_AHEAD = 8;

/**
 * Runs `decode` and yields the frames as they come; returns the tool's summary. Throws
 * DecodeError when the tool fails or is killed (after yielding what it decoded before), or the
 * signal's reason when aborted. Stopping early (break/return/throw) kills the tool.
 */
export async function* decodeChunkFrames(
  settings: Pick<MediaSettings, 'maxRssMb' | 'decodeTimeoutMs'>,
  req: DecodeRequest,
  opts: DecodeChunkOptions = {},
): AsyncGenerator<DecodedFrame, DecodeSummary, undefined> {
  const frameBytes = req.width * req.height * 3;
  if (!(Number.isInteger(frameBytes) && frameBytes > 0))
    throw new RangeError('the target size must be positive');
  const { signal } = opts;
  signal?.throwIfAborted();
  const readAhead = Math.max(1, opts.readAhead ?? DEFAULT_READ_AHEAD);
  const timeoutMs = opts.timeoutMs ?? settings.decodeTimeoutMs;
  const child = spawnMediaChild({
    args: ['decode', JSON.stringify(req)],
    timeoutMs,
    maxRssMb: settings.maxRssMb,
    signal,
  });
  const stdout = child.stdout;

  const queue: DecodedFrame[] = [];
  let summary: DecodeSummary | null = null;
  let protocolError: string | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  // the record parser: a 16-byte header, then its payload
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  let headerFill = 0;
  let payload: Buffer | null = null;
  let payloadFill = 0;
  let current: { kind: number; value: number; pts: number } | null = null;
  const onData = (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length && protocolError === null) {
      if (!current) {
        const n = Math.min(RECORD_HEADER_BYTES - headerFill, chunk.length - at);
        chunk.copy(header, headerFill, at, at + n);
        headerFill += n;
        at += n;
        if (headerFill < RECORD_HEADER_BYTES) break;
        headerFill = 0;
        try {
          current = decodeRecordHeader(header);
        } catch (e) {
          protocolError = (e as Error).message;
          break;
        }
        const len = current.kind === RecordKind.frame ? frameBytes : current.value;
        if (len > 64 * 1024 * 1024) {
          protocolError = 'record too large';
          break;
        }
        payload = Buffer.allocUnsafe(len);
        payloadFill = 0;
      }
      const p = payload as Buffer;
      const n = Math.min(p.length - payloadFill, chunk.length - at);
      chunk.copy(p, payloadFill, at, at + n);
      payloadFill += n;
      at += n;
      if (payloadFill < p.length) break;
      const rec = current;
      current = null;
      payload = null;
      if (rec.kind === RecordKind.frame) {
        queue.push({ index: rec.value, pts: rec.pts, rgb: new Uint8Array(p.buffer, p.byteOffset, p.length) });
      } else if (rec.kind === RecordKind.end) {
        try {
          summary = JSON.parse(p.toString('utf8')) as DecodeSummary;
        } catch {
          protocolError = 'bad summary';
        }
      }
    }
    if (protocolError !== null) child.kill('output');
    if (queue.length >= readAhead) stdout.pause();
    notify();
  };
  stdout.on('data', onData);
  stdout.on('end', () => {
    ended = true;
    notify();
  });
  stdout.on('close', () => {
    ended = true;
    notify();
  });
  stdout.on('error', () => {
    ended = true;
    notify();
  });

  let out = 0;
  let lastIndex = -1;
  try {
    // bounded: each turn takes a frame or waits for more output, and the output is bounded by
    // the child's time limit
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      if (queue.length > 0) {
        const f = queue.shift() as DecodedFrame;
        if (queue.length < readAhead && stdout.isPaused()) stdout.resume();
        out++;
        lastIndex = f.index;
        yield f;
        continue;
      }
      if (ended) break;
      if (stdout.isPaused()) stdout.resume();
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    const exit = await child.exited;
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    if (protocolError !== null)
      throw new DecodeError('The video decoder gave output that could not be read.', out, true);
    if (!childSucceeded(exit) || !summary) {
      const next = opts.timestamps?.[lastIndex + 1] ?? opts.timestamps?.[lastIndex] ?? null;
      const f = toolFailure(exit, 'The video decoder', {
        atSec: next,
        timeoutMs,
        maxRssMb: settings.maxRssMb,
      });
      throw new DecodeError(f.message, out, !f.known, f.code);
    }
    return summary;
  } finally {
    stdout.off('data', onData);
    child.kill();
    stdout.destroy();
  }
}
