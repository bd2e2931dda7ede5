/**
 * What the parent and the media tool (tool.ts, a child process) say to each other, and the pure
 * rules both sides share: the container allowlist, what is refused before any demuxer sees the
 * file, the display-matrix rotation, and the binary frame records on the tool's stdout.
 * No node-av here: this module is imported by the parent, which never loads the FFmpeg libraries.
 */

/**
 * Containers we accept, by the FIRST name of FFmpeg's input format (`mov,mp4,m4a,3gp,3g2,mj2` is
 * `mov`): the one we pin for every later step (findInputFormat + format_whitelist). Anything the
 * probe detects as something else is refused: playlists (hls, dash), concat lists, image
 * sequences and still images (image2, *_pipe), SDP/RTP/RTSP, raw elementary streams, text formats.
 */
export const ALLOWED_CONTAINERS: Readonly<Record<string, string>> = {
  mov: 'MP4/MOV/3GP',
  matroska: 'Matroska/WebM',
  avi: 'AVI',
  mpegts: 'MPEG-TS',
  mpeg: 'MPEG-PS',
  flv: 'FLV',
  mxf: 'MXF',
  ogg: 'Ogg',
};

export const SUPPORTED_CONTAINERS_TEXT = Object.values(ALLOWED_CONTAINERS).join(', ');

/** The name to pin: the first of FFmpeg's comma-separated names ("mov,mp4,..." -> "mov"). */
export function pinnedName(iformatName: string): string {
  return iformatName.split(',')[0]?.trim() ?? '';
}

/** Null when the container is on the allowlist; else the sentence that refuses it. */
export function containerRefusal(iformatName: string | null | undefined): string | null {
  if (!iformatName) return 'The file is not a video that can be read.';
  const name = pinnedName(iformatName);
  if (name in ALLOWED_CONTAINERS) return null;
  if (/^(hls|applehttp|dash)$/.test(name))
    return 'The file is a playlist, not a video; upload the video itself.';
  if (/^(concat|ffconcat)$/.test(name)) return 'The file is a list of other files, not a video.';
  if (/^(image2|.*_pipe|gif|apng|webp|ico|tiff|png|mjpeg|jpegxl|bmp)$/.test(name))
    return 'The file is a still image or an image sequence, not a video.';
  if (/^(sdp|rtp|rtsp|tee|data)$/.test(name)) return 'The file describes a stream elsewhere, not a video.';
  return `The ${name} format is not accepted; upload ${SUPPORTED_CONTAINERS_TEXT}.`;
}

/**
 * Refusals by the first bytes, before any FFmpeg demuxer sees them: text files that refer to
 * other files or URLs (HLS and other M3U playlists, DASH manifests, ffconcat lists, SDP), whatever
 * their name. FFmpeg would otherwise detect some of them by the name (a playlist named clip.m3u8)
 * and open what they point at.
 */
export function sniffRefusal(head: Uint8Array): string | null {
  const text = Buffer.from(head.subarray(0, 4096))
    .toString('latin1')
    .replace(/^\uFEFF|^\xEF\xBB\xBF/, '');
  const start = text.trimStart();
  if (/^#EXTM3U/i.test(start) || /^#EXT-X-/im.test(text))
    return 'The file is a playlist, not a video; upload the video itself.';
  if (/^ffconcat\b/i.test(start) || /^file\s+['"]?[^\s]/m.test(start))
    return 'The file is a list of other files, not a video.';
  if (/^<\?xml/i.test(start) || /<MPD[\s>]/.test(text) || /^<(smil|playlist|asx)/i.test(start))
    return 'The file is a manifest that refers to other files, not a video.';
  if (/^v=0\r?\n/.test(start) && /^[osmc]=/m.test(text))
    return 'The file describes a stream elsewhere, not a video.';
  return null;
}

/**
 * The counter-clockwise rotation (degrees) of a display matrix (AV_PKT_DATA_DISPLAYMATRIX: nine
 * little-endian int32, the first two rows 16.16 fixed point), as av_display_rotation_get and
 * ffprobe's `rotation` report it; null when the buffer is not a matrix or it is degenerate.
 */
export function displayMatrixRotation(buf: Uint8Array | null | undefined): number | null {
  if (!buf || buf.length < 36) return null;
  const v = new DataView(buf.buffer, buf.byteOffset, 36);
  const m = (i: number) => v.getInt32(i * 4, true);
  const s0 = Math.hypot(m(0), m(3));
  const s1 = Math.hypot(m(1), m(4));
  if (s0 === 0 || s1 === 0) return null;
  const rotation = (Math.atan2(m(1) / s1, m(0) / s0) * 180) / Math.PI;
  return -rotation;
}

/**
 * The `max_pixels` given to FFmpeg's decoders (and to find-stream-info's) for a limit of
 * `maxPixels` per frame: decoders refuse a picture over it before allocating it. FFmpeg checks it
 * on the width rounded up to its stride alignment (up to 64 columns), so the decoder's bound has
 * that much room; the exact limit is `framePixelsRefusal`, on every decoded frame.
 */
export function decoderMaxPixels(maxPixels: number): number {
  const limit = Math.max(1, Math.floor(maxPixels));
  return Math.min(Number.MAX_SAFE_INTEGER, limit + 64 * 16384);
}

/**
 * Null when a picture of `width`x`height` is within `maxPixels`; else the sentence that refuses
 * the video (the header said less: the stream changes size in band). `atSec`: where, if known.
 */
export function framePixelsRefusal(
  width: number,
  height: number,
  maxPixels: number,
  atSec: number | null = null,
): string | null {
  if (!(width > 0 && height > 0) || width * height <= maxPixels) return null;
  const at = atSec !== null && Number.isFinite(atSec) && atSec >= 0 ? ` at ${atSec.toFixed(1)} s` : '';
  return `The video's frames change to ${width}x${height} pixels${at}, more than the ${maxPixels} pixels per frame this server accepts.`;
}

/** The code the tool gives with a refusal the parent must not retry or skip past (limits.ts' codes). */
export const FRAME_TOO_LARGE = 'VIDEO_TOO_LARGE';

/** Records on the tool's stdout for `decode`: a 16-byte header, then the payload. */
export const RECORD_HEADER_BYTES = 16;
export const RecordKind = { frame: 1, end: 2, error: 3 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export interface RecordHeader {
  kind: RecordKind;
  /** frame: index into the request's `frames`; end/error: byte length of the JSON that follows */
  value: number;
  /** frame: its pts (stream time base); else 0 */
  pts: number;
}

export function encodeRecordHeader(h: RecordHeader): Buffer {
  const b = Buffer.alloc(RECORD_HEADER_BYTES);
  b.writeUInt8(h.kind, 0);
  b.writeUInt32LE(h.value >>> 0, 4);
  b.writeDoubleLE(h.pts, 8);
  return b;
}

export function decodeRecordHeader(b: Uint8Array): RecordHeader {
  const buf = Buffer.from(b.buffer, b.byteOffset, RECORD_HEADER_BYTES);
  const kind = buf.readUInt8(0);
  if (kind !== 1 && kind !== 2 && kind !== 3) throw new Error(`bad record kind ${kind}`);
  return { kind: kind as RecordKind, value: buf.readUInt32LE(4), pts: buf.readDoubleLE(8) };
}

/** What `decode` reports when it ends (the `end` record's JSON). */
export interface DecodeSummary {
  /** frames written */
  written: number;
  /** frames decoded in all (written or not) */
  decoded: number;
  /** whether the tool fell back to decoding from the start because the seek landed after the chunk */
  sequential: boolean;
  /** decoder errors it went past (packets that did not decode), with the last message */
  decodeErrors: number;
  lastError: string | null;
}

/** The requests, one per command (JSON in argv[3]). */
export interface ProbeRequest {
  file: string;
  maxStreams: number;
  /**
   * MAX_VIDEO_PIXELS: a header over it is reported without reading stream info (which decodes a
   * frame), and find-stream-info's decoders get decoderMaxPixels of it. Absent: not bounded.
   */
  maxPixels?: number;
}

export interface ScanRequest {
  file: string;
  format: string;
  /** MAX_VIDEO_PIXELS, for find-stream-info's decoders (as in ProbeRequest) */
  maxPixels?: number;
}

export interface DecodeRequest {
  file: string;
  format: string;
  /** where to seek first (stream time base, a keyframe's min(pts, dts)); null: decode from the start */
  seekTicks: number | null;
  /** the pts of every frame to output, ascending (FrameScan.ticks of the planned frames) */
  frames: number[];
  width: number;
  height: number;
  resize: 'stretch' | 'letterbox';
  rotation: number;
  threads: number;
  /** MAX_VIDEO_PIXELS: the decoder's max_pixels, and every decoded frame is checked against it */
  maxPixels: number;
}

export interface ImageRequest {
  width: number;
  height: number;
  resize: 'stretch' | 'letterbox';
  maxPixels: number;
}

export interface JpegRequest {
  file: string;
  format: string;
  /** seconds from the video's first frame */
  timeSec: number;
  width: number;
  /** a region in displayed source pixels (after rotation), cut before scaling */
  crop?: { x: number; y: number; w: number; h: number } | null;
  rotation: number;
  /** MAX_VIDEO_PIXELS (as for decode); absent: not bounded */
  maxPixels?: number;
}

/**
 * Matches decoded frames to the planned ones by pts: each planned pts is taken once (equal pts
 * in order). `take` returns the index into the plan, or -1 for a frame not planned (before the
 * chunk, after it, not sampled, or a pts the scan never saw).
 */
export class PtsMatcher {
  private readonly byPts = new Map<number, number[]>();
  private remaining: number;
  readonly last: number;
  constructor(frames: readonly number[]) {
    for (let i = 0; i < frames.length; i++) {
      const list = this.byPts.get(frames[i]);
      if (list) list.push(i);
      else this.byPts.set(frames[i], [i]);
    }
    this.remaining = frames.length;
    this.last = frames.length > 0 ? frames[frames.length - 1] : Number.NEGATIVE_INFINITY;
  }
  take(pts: number): number {
    const list = this.byPts.get(pts);
    if (!list || list.length === 0) return -1;
    this.remaining--;
    return list.shift() as number;
  }
  get done(): boolean {
    return this.remaining === 0;
  }
}
