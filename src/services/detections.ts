import type { Frame, LabelsFrame } from '../api/schemas.js';
import type { FrameRecord, FramesRepository } from '../db/repositories/frames.js';

/**
 * Reading a job's results: pages of frames by frame index (keyset, so page N costs the same as
 * page 1), filtered by time range, label and minimum score; and the same as a stream of every
 * frame for NDJSON downloads, read page by page so memory stays flat for a three-hour video.
 *
 * Filters: `from`/`to` (seconds, inclusive) select frames; `labels` keeps only frames that contain
 * one of those labels and only those labels' detections; `minScore` drops weaker detections but keeps the
 * frame (an analysed frame with nothing above the threshold is still an answer: "nothing here").
 */

export interface DetectionFilter {
  from?: number;
  to?: number;
  /** one or more labels (the API's `label=person,car`) */
  labels?: readonly string[];
  minScore?: number;
}

export class InvalidCursorError extends Error {}

export function encodeCursor(frameIndex: number): string {
  return Buffer.from(`f:${frameIndex}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const m = /^f:(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new InvalidCursorError('The cursor is not valid: use nextCursor from the previous page.');
  return Number(m[1]);
}

/** Pure: applies the label and score filters to one frame's detections. */
export function filterFrame(frame: FrameRecord, f: DetectionFilter): Frame {
  const dets = frame.detections
    .filter(
      (d) =>
        (f.labels === undefined || f.labels.includes(d.label)) &&
        (f.minScore === undefined || d.score >= f.minScore),
    )
    // jsonb stores object keys in its own order: give them back in a stable, readable one
    .map(({ label, score, box }) => ({
      label,
      score,
      box: { x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2 },
    }));
  return { frameIndex: frame.frameIndex, timestamp: frame.timestamp, detections: dets };
}

/** Pure: the per-frame (label, score) view that plain per-frame consumers want. */
export function toLabelsView(frame: Frame): LabelsFrame {
  return {
    frameIndex: frame.frameIndex,
    timestamp: frame.timestamp,
    labels: frame.detections.map((d) => [d.label, d.score]),
  };
}

export function createDetectionsService(deps: { frames: Pick<FramesRepository, 'list'> }) {
  async function page(jobId: string, filter: DetectionFilter, cursor: string | undefined, limit: number) {
    const afterFrame = cursor ? decodeCursor(cursor) : undefined;
    const rows = await deps.frames.list(jobId, {
      afterFrame,
      limit: limit + 1, // one extra row tells whether another page exists
      from: filter.from,
      to: filter.to,
      labels: filter.labels,
    });
    const more = rows.length > limit;
    const frames = rows.slice(0, limit).map((r) => filterFrame(r, filter));
    const nextCursor = more && frames.length > 0 ? encodeCursor(frames[frames.length - 1].frameIndex) : null;
    return { frames, nextCursor };
  }

  async function* all(jobId: string, filter: DetectionFilter, pageSize = 1000): AsyncGenerator<Frame> {
    let cursor: string | undefined;
    for (;;) {
      const p = await page(jobId, filter, cursor, pageSize);
      yield* p.frames;
      if (!p.nextCursor) return;
      cursor = p.nextCursor;
    }
  }

  return { page, all };
}

export type DetectionsService = ReturnType<typeof createDetectionsService>;
