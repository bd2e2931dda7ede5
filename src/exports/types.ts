import type { Box } from '../inference/types.js';

/**
 * What every export reads: analysed frames in frame order, each detection with its track id (null
 * for none), boxes in the original video's pixels. Frames come as a (possibly async) iterable, so
 * a writer holds one frame at a time and a three-hour video exports in flat memory; a format that
 * needs two passes (COCO: images, then annotations) takes a function that opens the frames again.
 */
export interface ExportDetection {
  label: string;
  score: number;
  box: Box;
  trackId: number | null;
}

export interface ExportFrame {
  frameIndex: number;
  /** seconds */
  timestamp: number;
  detections: ExportDetection[];
}

/** A track's boxes in frame order, for track-shaped formats (CVAT for video). */
export interface ExportTrack {
  id: number;
  label: string;
  boxes: AsyncIterable<ExportTrackBox> | Iterable<ExportTrackBox>;
}

export interface ExportTrackBox {
  frameIndex: number;
  score: number;
  box: Box;
}

export interface ExportVideo {
  /** shown as the task or dataset name (the uploaded file's name) */
  name: string;
  /** displayed size: boxes are in these pixels */
  width: number;
  height: number;
  /** frames in the source video (not only the analysed ones) */
  frameCount: number;
}

export type Source<T> = AsyncIterable<T> | Iterable<T>;

/** A number as export text: at most `digits` decimals, no trailing zeros, no "-0". */
export function num(x: number, digits = 2): string {
  const r = Number(x.toFixed(digits));
  return Object.is(r, -0) ? '0' : String(r);
}

/** frame_000042: CVAT's frame naming, zero-padded to at least 6 digits and to the video's length. */
export function frameName(frameIndex: number, frameCount: number): string {
  const width = Math.max(6, String(Math.max(0, frameCount - 1)).length);
  return `frame_${String(frameIndex).padStart(width, '0')}`;
}

/** Batches small strings into chunks of about `size` characters (fewer, larger writes). */
export async function* batched(parts: AsyncIterable<string>, size = 64 * 1024): AsyncGenerator<string> {
  let buf = '';
  for await (const p of parts) {
    buf += p;
    if (buf.length >= size) {
      yield buf;
      buf = '';
    }
  }
  if (buf.length > 0) yield buf;
}
