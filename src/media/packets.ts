import { createInterface } from 'node:readline';
import { childSucceeded, spawnMediaChild } from './av/child.js';
import { toolFailure } from './av/run.js';
import type { MediaSettings } from './settings.js';

/**
 * The exact list of video frames of a file, read from its packets (demux only, no decoding: a
 * 3-hour video takes seconds).
 *
 * Timestamps: `timestamps[i]` is the presentation time of frame i in seconds RELATIVE TO THE FIRST
 * FRAME of the video stream (frame 0 is at 0). That is what the API calls "seconds from the start
 * of the video". The absolute stream pts of frame i (what ffmpeg/ffprobe print as pts_time and
 * best_effort_timestamp_time) is `firstPtsSec + timestamps[i]`, or exactly `ticks[i] * timeBase`.
 *
 * Frame i is the i-th frame in presentation order (packets sorted by pts, stable in decode order),
 * which is the order in which ffmpeg outputs decoded frames with `-vsync passthrough`.
 *
 * Packets without a pts (AVI with B-frames, raw elementary streams) fall back to their dts, and
 * without either to the previous frame's time plus the typical frame duration; for those files
 * the timestamps are ffmpeg's guess as much as ours. Packets flagged D (discard: e.g. dropped by
 * an MP4 edit list) produce no frame and are left out.
 */
export interface FrameScan {
  /** presentation time (seconds) of every frame relative to frame 0; sorted; index = frame index */
  timestamps: number[];
  /** frame indices of the keyframes (sorted) */
  keyframes: number[];
  /** the stream's time base as [num, den] */
  timeBase: [number, number];
  /** absolute pts of every frame in time-base units (sorted, aligned with timestamps) */
  ticks: number[];
  /** absolute decode timestamp of each keyframe in time-base units (its pts where dts is missing), aligned with `keyframes` */
  keyframeDts: number[];
  /** absolute pts of frame 0 in seconds */
  firstPtsSec: number;
}

export class ScanError extends Error {
  constructor(
    message: string,
    /** the scan ran past its time limit (the file may be fine, only long) */
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'ScanError';
  }
}

interface RawPacket {
  pts: number | null;
  dts: number | null;
  key: boolean;
}

/**
 * Incremental parser for the csv lines of `scanArgs` (`packet,<pts>,<dts>,<flags>` and
 * `stream,<time_base>`). Feed it line by line, then call `finish()`.
 */
export class PacketLineParser {
  private readonly packets: RawPacket[] = [];
  private timeBase: [number, number] | null = null;

  push(line: string): void {
    if (line.startsWith('packet,')) {
      const [, pts, dts, flags = ''] = line.split(',');
      if (flags.includes('D')) return; // discarded: the decoder outputs no frame for it
      this.packets.push({ pts: toInt(pts), dts: toInt(dts), key: flags.includes('K') });
    } else if (line.startsWith('stream,')) {
      const tb = line.split(',')[1]?.trim() ?? ''; // side data (rotation) may follow as more fields
      const [n, d] = tb.split('/').map(Number);
      if (n > 0 && d > 0) this.timeBase = [n, d];
    }
  }

  finish(): FrameScan {
    const tb = this.timeBase ?? [1, 1000];
    const n = this.packets.length;
    if (n === 0) throw new ScanError('The video stream has no frames.');
    // Fill in packets with neither pts nor dts from their neighbours (typical duration).
    const ts = new Float64Array(n);
    let prev: number | null = null;
    let step = 0;
    for (let i = 0; i < n; i++) {
      const p = this.packets[i];
      const t = p.pts ?? p.dts;
      if (t != null) {
        if (prev != null && t > prev) step = t - prev;
        ts[i] = t;
        prev = t;
      } else {
        ts[i] = prev == null ? 0 : prev + (step || 1);
        prev = ts[i];
      }
    }
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => ts[a] - ts[b] || a - b); // stable: equal pts keep decode order
    const ticks = new Array<number>(n);
    const keyframes: number[] = [];
    const keyframeDts: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.packets[order[i]];
      ticks[i] = ts[order[i]];
      if (p.key) {
        keyframes.push(i);
        keyframeDts.push(p.dts ?? ticks[i]);
      }
    }
    const sec = tb[0] / tb[1];
    const first = ticks[0];
    const timestamps = ticks.map((t) => round9((t - first) * sec));
    return { timestamps, keyframes, timeBase: tb, ticks, keyframeDts, firstPtsSec: round9(first * sec) };
  }
}

function toInt(s: string | undefined): number | null {
  if (s == null || s === '' || s === 'N/A') return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

function round9(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/**
 * Reads every video packet of `file` with the media tool's `scan` (demux only; streamed line by
 * line, never the whole output in memory as one string), the container pinned to `format` (the
 * probe's pinnedFormat), and returns the frame list. Throws ScanError with a sentence on failure,
 * including when it runs past `timeoutMs` (ScanError.timedOut).
 */
export async function scanVideoFrames(
  settings: Pick<MediaSettings, 'maxRssMb' | 'scanTimeoutMs'> & Partial<Pick<MediaSettings, 'limits'>>,
  file: string,
  format: string,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<FrameScan> {
  const timeoutMs = opts.timeoutMs ?? settings.scanTimeoutMs;
  const child = spawnMediaChild({
    args: ['scan', JSON.stringify({ file, format, maxPixels: settings.limits?.maxPixels })],
    timeoutMs,
    maxRssMb: settings.maxRssMb,
    signal: opts.signal,
  });
  const parser = new PacketLineParser();
  try {
    const rl = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of rl) parser.push(line);
    const exit = await child.exited;
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    if (!childSucceeded(exit)) {
      const f = toolFailure(exit, "Reading the video's packets", { timeoutMs, maxRssMb: settings.maxRssMb });
      throw new ScanError(f.message, exit.killed === 'timeout');
    }
    return parser.finish();
  } finally {
    child.kill();
  }
}
