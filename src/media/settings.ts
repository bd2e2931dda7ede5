/**
 * How the media layer runs (replaces the old ffmpeg/ffprobe program paths): every probe, scan
 * and decode runs the media tool (src/media/av/tool.ts, node-av's FFmpeg 8.1 libraries) in a
 * child process under these bounds. From the configuration (MEDIA_* and MAX_* variables).
 */
export interface MediaSettings {
  /** resident memory bound of each media child process (MiB), then SIGKILL (MEDIA_MAX_RSS_MB) */
  maxRssMb: number;
  /** time limits (ms) */
  probeTimeoutMs: number;
  /** a full packet scan in the process task (MEDIA_SCAN_TIMEOUT_SECONDS) */
  scanTimeoutMs: number;
  /** the packet scan in the upload path, before the 202; past it the scan is left to the process task */
  uploadScanTimeoutMs: number;
  /** one chunk's decode (MEDIA_DECODE_TIMEOUT_SECONDS) */
  decodeTimeoutMs: number;
  /** one still image (POST /v1/detect) or one thumbnail */
  imageTimeoutMs: number;
  limits: MediaLimits;
}

export interface MediaLimits {
  /** pixels per frame (MAX_VIDEO_PIXELS; default 8K UHD 7680x4320), also for still images */
  maxPixels: number;
  /** frames per second (MAX_VIDEO_FPS) */
  maxFps: number;
  /** frames in the video (MAX_VIDEO_FRAMES) */
  maxFrames: number;
  /** seconds, from the last frame's timestamp (MAX_VIDEO_SECONDS) */
  maxSeconds: number;
  /** streams in the container (MAX_VIDEO_STREAMS) */
  maxStreams: number;
}

export const DEFAULT_MEDIA_LIMITS: MediaLimits = {
  maxPixels: 7680 * 4320,
  maxFps: 240,
  maxFrames: 3 * 3600 * 60,
  maxSeconds: 3 * 3600,
  maxStreams: 32,
};

export const DEFAULT_MEDIA_SETTINGS: MediaSettings = {
  maxRssMb: 2048,
  probeTimeoutMs: 30_000,
  scanTimeoutMs: 300_000,
  uploadScanTimeoutMs: 20_000,
  decodeTimeoutMs: 600_000,
  imageTimeoutMs: 30_000,
  limits: DEFAULT_MEDIA_LIMITS,
};

/** The defaults with some fields replaced (tests, the CLI). */
export function mediaSettings(
  over: Partial<Omit<MediaSettings, 'limits'>> & { limits?: Partial<MediaLimits> } = {},
): MediaSettings {
  return { ...DEFAULT_MEDIA_SETTINGS, ...over, limits: { ...DEFAULT_MEDIA_LIMITS, ...over.limits } };
}
