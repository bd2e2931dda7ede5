import type { Frame, LabelsFrame, TrackedDetection } from '../api/schemas.js';
import type { FrameRecord, FramesRepository } from '../db/repositories/frames.js';
import type { JobRecord } from '../db/repositories/jobs.js';
import type { TracksRepository } from '../db/repositories/tracks.js';
import { ValidationError } from '../errors.js';
import { DEFAULT_MIN_TRACK_FRAMES } from '../tracking/noise.js';

/**
 * Reading a job's results: pages of frames by frame index (keyset, so page N costs the same as
 * page 1), filtered by time range, label, minimum score and track; and the same as a stream of
 * every frame for NDJSON downloads and exports, read page by page so memory stays flat for a
 * three-hour video.
 *
 * Filters: `from`/`to` (seconds, inclusive) select frames; `labels` keeps only frames that contain
 * one of those labels and only those labels' detections; `trackId` the same for one track;
 * `minScore` drops weaker detections but keeps the frame (an analysed frame with nothing above
 * the threshold is still an answer: "nothing here"). Noise (docs/tracking.md) is left out unless
 * `noise` is null: detections in no track, or in a track with fewer than `minFrames` frames; the
 * page's track ids are looked up once per page.
 */

export interface DetectionFilter {
  from?: number;
  to?: number;
  /** one or more labels (the API's `label=person,car`) */
  labels?: readonly string[];
  minScore?: number;
  trackId?: number;
  /** leave noise out: tracks shorter than minFrames, and detections in no track; null keeps it */
  noise?: { minFrames: number } | null;
}

/** The query fields a detections or export request filters by. */
export interface DetectionQuery {
  from?: number;
  to?: number;
  label?: string;
  minScore?: number;
  trackId?: number;
  minFrames?: number;
  includeNoise?: boolean;
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

/** Pure: `label=a,b` as a list (undefined when empty). */
export function parseLabels(label: string | undefined): string[] | undefined {
  const labels = label
    ?.split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  return labels?.length ? labels : undefined;
}

/**
 * Pure: the filter of a request on a job. Scores under the job's minScore are never shown (the
 * detector keeps weaker ones for the tracker until the track step drops them). Noise is left out
 * unless `includeNoise`, by the job's minTrackFrames unless `minFrames` says otherwise; a job made
 * before tracking (no minTrackFrames, no track ids) has no noise to leave out. Throws 400.
 */
export function detectionFilter(job: Pick<JobRecord, 'options'>, q: DetectionQuery): DetectionFilter {
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
    throw new ValidationError('from must not be after to.', 'INVALID_QUERY');
  }
  const tracked = job.options.minTrackFrames !== undefined;
  const minFrames = q.minFrames ?? job.options.minTrackFrames ?? DEFAULT_MIN_TRACK_FRAMES;
  return {
    from: q.from,
    to: q.to,
    labels: parseLabels(q.label),
    minScore: Math.max(q.minScore ?? 0, job.options.minScore),
    trackId: q.trackId,
    noise: q.includeNoise || !tracked ? null : { minFrames },
  };
}

/** Pure: applies the label, track, score and noise filters to one frame's detections. */
export function filterFrame(
  frame: FrameRecord,
  f: DetectionFilter,
  kept: (trackId: number) => boolean = () => true,
): Frame {
  const dets: TrackedDetection[] = [];
  for (const d of frame.detections) {
    const trackId = d.trackId ?? null;
    if (f.labels !== undefined && !f.labels.includes(d.label)) continue;
    if (f.minScore !== undefined && d.score < f.minScore) continue;
    if (f.trackId !== undefined && trackId !== f.trackId) continue;
    if (f.noise && (trackId === null || !kept(trackId))) continue;
    // jsonb stores object keys in its own order: give them back in a stable, readable one
    const { box } = d;
    dets.push({
      label: d.label,
      score: d.score,
      box: { x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2 },
      trackId,
    });
  }
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

export function createDetectionsService(deps: {
  frames: Pick<FramesRepository, 'list'>;
  tracks: Pick<TracksRepository, 'keptIds'>;
}) {
  async function page(jobId: string, filter: DetectionFilter, cursor: string | undefined, limit: number) {
    const afterFrame = cursor ? decodeCursor(cursor) : undefined;
    const rows = await deps.frames.list(jobId, {
      afterFrame,
      limit: limit + 1, // one extra row tells whether another page exists
      from: filter.from,
      to: filter.to,
      labels: filter.labels,
      trackId: filter.trackId,
    });
    const more = rows.length > limit;
    const read = rows.slice(0, limit);
    let kept: (id: number) => boolean = () => true;
    if (filter.noise) {
      const ids = new Set<number>();
      for (const r of read) for (const d of r.detections) if (d.trackId != null) ids.add(d.trackId);
      const keep = await deps.tracks.keptIds(jobId, [...ids], filter.noise.minFrames);
      kept = (id) => keep.has(id);
    }
    // a label or track filter selects frames: one left with none of its detections (all noise)
    // is not one of them
    const selects = filter.labels !== undefined || filter.trackId !== undefined;
    const frames = read
      .map((r) => filterFrame(r, filter, kept))
      .filter((f) => !selects || !filter.noise || f.detections.length > 0);
    const nextCursor = more && read.length > 0 ? encodeCursor(read[read.length - 1].frameIndex) : null;
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
