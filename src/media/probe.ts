import { clockwiseRotation } from './orientation.js';
import { runProgram } from './run.js';

/** What ffprobe says about an uploaded video, as stored on the job (`jobs.probe`). */
export interface VideoProbe {
  formatName: string;
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
    /** frame count as the container states it, else estimated from duration * fps */
    frameCount: number;
    frameCountExact: boolean;
    pixFmt: string | null;
    /** clockwise display rotation, 0 | 90 | 180 | 270 (see src/media/orientation.ts) */
    rotation: number;
  };
  hasAudio: boolean;
}

/** The file is not a video we can analyse; the message is one sentence for the user. */
export class ProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

export function probeArgs(file: string): string[] {
  return ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file];
}

export function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [n, d] = rate.split('/').map(Number);
  if (!d) return Number.isFinite(n) ? n : 0;
  return n / d;
}

interface RawStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  time_base?: string;
  nb_frames?: string;
  duration?: string;
  pix_fmt?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number }[];
  disposition?: { attached_pic?: number };
}

// Formats ffprobe recognises for still images: a PNG or JPEG "has a video stream" of one frame.
const IMAGE_FORMATS = /(^|,)(image2|png_pipe|jpeg_pipe|webp_pipe|gif|bmp_pipe|tiff_pipe|mjpeg)(,|$)/;

/** Turns ffprobe's JSON into a VideoProbe, or throws ProbeError with a sentence for the user. */
export function parseProbe(json: unknown): VideoProbe {
  const j = json as { format?: Record<string, string>; streams?: RawStream[] };
  const format = j.format ?? {};
  const formatName = format.format_name ?? '';
  const video = (j.streams ?? []).find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video) throw new ProbeError('The file has no video stream.');
  if (IMAGE_FORMATS.test(formatName)) throw new ProbeError('The file is a still image, not a video.');
  const width = video.width ?? 0;
  const height = video.height ?? 0;
  if (width <= 0 || height <= 0) throw new ProbeError('The video stream has no picture size.');
  const duration = Number(video.duration ?? format.duration ?? Number.NaN);
  if (!Number.isFinite(duration) || duration <= 0) throw new ProbeError('The video has no duration.');
  const fps = parseRate(video.avg_frame_rate) || parseRate(video.r_frame_rate);
  if (!(fps > 0)) throw new ProbeError('The video has no frame rate.');
  const stated = Number(video.nb_frames);
  const frameCountExact = Number.isInteger(stated) && stated > 0;
  return {
    formatName,
    durationSec: duration,
    sizeBytes: Number(format.size ?? 0),
    bitRate: format.bit_rate ? Number(format.bit_rate) : null,
    video: {
      codec: video.codec_name ?? 'unknown',
      width,
      height,
      fps,
      timeBase: video.time_base ?? '1/1000',
      frameCount: frameCountExact ? stated : Math.max(1, Math.round(duration * fps)),
      frameCountExact,
      pixFmt: video.pix_fmt ?? null,
      rotation: clockwiseRotation(video),
    },
    hasAudio: (j.streams ?? []).some((s) => s.codec_type === 'audio'),
  };
}

/** Probes a file with ffprobe; throws ProbeError when it is not a usable video. */
export async function probeVideo(ffprobe: string, file: string): Promise<VideoProbe> {
  const res = await runProgram(ffprobe, probeArgs(file), {
    timeoutMs: 60_000,
    maxStdoutBytes: 8 * 1024 * 1024,
  });
  if (res.code !== 0) throw new ProbeError('The file is not a video that can be read.');
  let json: unknown;
  try {
    json = JSON.parse(res.stdout.toString('utf8'));
  } catch {
    throw new ProbeError('The file is not a video that can be read.');
  }
  return parseProbe(json);
}
