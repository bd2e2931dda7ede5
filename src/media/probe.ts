import { stat } from 'node:fs/promises';
import { MediaToolError, runTool } from './av/run.js';
import { clockwiseRotation } from './orientation.js';
import type { MediaSettings } from './settings.js';

/** What the probe says about an uploaded video, as stored on the job (`jobs.probe`). */
export interface VideoProbe {
  /** FFmpeg's name for the container, e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
  formatName: string;
  /**
   * The input format every later step opens the file with (the first of formatName's names, on
   * the allowlist: see av/protocol.ts). Probes stored before it existed have none: the process
   * task probes again then.
   */
  pinnedFormat?: string;
  /** streams in the container */
  streams?: number;
  /**
   * seconds: from the last frame's timestamp when `scanned`, else what the header says; 0 when
   * the header states none and the scan has not run yet (the process task's scan fills it in)
   */
  durationSec: number;
  sizeBytes: number;
  bitRate: number | null;
  video: {
    codec: string;
    width: number;
    height: number;
    /** average frame rate (frames / second) */
    fps: number;
    /** the stream's time base, e.g. "1/15360" */
    timeBase: string;
    /** frame count: from the packet scan when `scanned`, else as the container states it or estimated */
    frameCount: number;
    frameCountExact: boolean;
    pixFmt: string | null;
    /** clockwise display rotation, 0 | 90 | 180 | 270 (see src/media/orientation.ts) */
    rotation: number;
  };
  hasAudio: boolean;
  /** whether duration and frame count come from the packet scan (checked before the 202) */
  scanned?: boolean;
}

/** The file is not a video we can analyse; the message is one sentence for the user. */
export class ProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

export function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [n, d] = rate.split('/').map(Number);
  if (!d) return Number.isFinite(n) ? n : 0;
  return n / d;
}

/** The media tool's `probe` answer (src/media/av/tool.ts). */
export interface ToolProbe {
  formatName: string;
  pinnedFormat: string;
  streams: number;
  durationSec?: number | null;
  bitRate?: number | null;
  hasAudio?: boolean;
  video: {
    codec: string;
    decodable: boolean;
    width: number;
    height: number;
    avgFps: number;
    rFps: number;
    timeBase: string;
    nbFrames: number;
    pixFmt: string | null;
    rotationTag: string | null;
    displayRotation: number | null;
  } | null;
}

/** Turns the tool's probe into a VideoProbe, or throws ProbeError with a sentence for the user. */
export function parseProbe(j: ToolProbe, sizeBytes = 0): VideoProbe {
  const video = j.video;
  if (!video) throw new ProbeError('The file has no video stream.');
  if (!video.decodable) throw new ProbeError(`The video codec (${video.codec}) is not supported.`);
  const { width, height } = video;
  if (!(width > 0) || !(height > 0)) throw new ProbeError('The video stream has no picture size.');
  // a header may state no duration (Matroska written to a pipe: no cues, no Duration): the real
  // one is the last frame's timestamp from the packet scan (withScan), so 0 here means "not yet"
  const stated = Number(j.durationSec ?? Number.NaN);
  const duration = Number.isFinite(stated) && stated > 0 ? stated : 0;
  const fps = video.avgFps > 0 ? video.avgFps : video.rFps;
  if (!(fps > 0)) throw new ProbeError('The video has no frame rate.');
  const frames = Number(video.nbFrames);
  const frameCountExact = Number.isInteger(frames) && frames > 0;
  return {
    formatName: j.formatName,
    pinnedFormat: j.pinnedFormat,
    streams: j.streams,
    durationSec: duration,
    sizeBytes,
    bitRate: j.bitRate ?? null,
    video: {
      codec: video.codec,
      width,
      height,
      fps,
      timeBase: video.timeBase || '1/1000',
      frameCount: frameCountExact ? frames : Math.max(1, Math.round(duration * fps)),
      frameCountExact,
      pixFmt: video.pixFmt,
      rotation: clockwiseRotation({
        tags: video.rotationTag == null ? undefined : { rotate: video.rotationTag },
        side_data_list: video.displayRotation == null ? undefined : [{ rotation: video.displayRotation }],
      }),
    },
    hasAudio: j.hasAudio === true,
  };
}

/**
 * Probes a file with the media tool (container detected from its bytes, allowlisted, pinned);
 * throws ProbeError with a sentence when it is not a usable video or is refused.
 */
export async function probeVideo(settings: MediaSettings, file: string): Promise<VideoProbe> {
  const sizeBytes = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  let out: Buffer;
  try {
    out = await runTool(
      'probe',
      { file, maxStreams: settings.limits.maxStreams, maxPixels: settings.limits.maxPixels },
      {
        what: 'The video probe',
        timeoutMs: settings.probeTimeoutMs,
        maxRssMb: settings.maxRssMb,
        maxStdoutBytes: 1024 * 1024,
      },
    );
  } catch (e) {
    if (e instanceof MediaToolError)
      throw new ProbeError(
        e.known ? e.message : `The file could not be read as a video: ${lower(e.message)}`,
      );
    throw e;
  }
  let json: ToolProbe;
  try {
    json = JSON.parse(out.toString('utf8')) as ToolProbe;
  } catch {
    throw new ProbeError('The file is not a video that can be read.');
  }
  return parseProbe(json, sizeBytes);
}

function lower(s: string): string {
  return s.length > 0 ? s[0].toLowerCase() + s.slice(1) : s;
}
