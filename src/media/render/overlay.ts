import type { OverlayBox } from './draw.js';

/**
 * Which boxes go on which frame of an annotated video. Pure, unit-tested.
 *
 * Every source frame is rendered. A job analysed with `fps` sampling has detections only on its
 * analysed frames: each source frame shows the boxes of the NEAREST analysed frame by frame index
 * (the earlier one on a tie), so boxes change half-way between two analysed frames instead of
 * lagging a whole sampling interval behind.
 */

/** What a render draws (POST /v1/jobs/:id/renders): null means no filter. */
export interface RenderFilter {
  labels: readonly string[] | null;
  minScore: number | null;
  /** only detections in these tracks (detections without a trackId are left out then) */
  tracks: readonly number[] | null;
}

/** A detection as stored in a frame (`trackId` is absent on frames written before tracking). */
export interface StoredDetection {
  label: string;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
  trackId?: number | null;
}

/** An analysed frame with the boxes to draw on it. */
export interface OverlayFrame {
  frameIndex: number;
  boxes: OverlayBox[];
}

/** The detections of a frame that the filter keeps, as boxes to draw. Pure. */
export function selectBoxes(detections: readonly StoredDetection[], filter: RenderFilter): OverlayBox[] {
  const labels = filter.labels ? new Set(filter.labels) : null;
  const tracks = filter.tracks ? new Set(filter.tracks) : null;
  const out: OverlayBox[] = [];
  for (const d of detections) {
    if (labels && !labels.has(d.label)) continue;
    if (filter.minScore != null && d.score < filter.minScore) continue;
    const trackId = typeof d.trackId === 'number' ? d.trackId : null;
    if (tracks && (trackId === null || !tracks.has(trackId))) continue;
    out.push({ ...d.box, label: d.label, score: d.score, trackId });
  }
  return out;
}

/** Of the analysed frames just before and after source frame n, the one to show. Pure. */
export function nearest<T extends { frameIndex: number }>(
  before: T | null,
  after: T | null,
  n: number,
): T | null {
  if (!before) return after;
  if (!after) return before;
  return n - before.frameIndex <= after.frameIndex - n ? before : after;
}

/**
 * Walks the analysed frames (in frame order, pulled one at a time) alongside the source frames
 * 0, 1, 2, …: `boxesFor(n)` must be called with increasing n. Holds two analysed frames at a time.
 */
export class NearestFrames {
  private before: OverlayFrame | null = null;
  private after: OverlayFrame | null = null;
  private ended = false;
  private started = false;

  constructor(private readonly pull: () => Promise<OverlayFrame | null>) {}

  async boxesFor(n: number): Promise<OverlayBox[]> {
    if (!this.started) {
      this.started = true;
      await this.advance();
    }
    while (this.after && this.after.frameIndex <= n) {
      this.before = this.after;
      await this.advance();
    }
    return nearest(this.before, this.after, n)?.boxes ?? [];
  }

  private async advance() {
    if (this.ended) {
      this.after = null;
      return;
    }
    let next = await this.pull();
    // out-of-order input is skipped rather than trusted
    while (next && this.before && next.frameIndex <= this.before.frameIndex) next = await this.pull();
    this.after = next;
    if (!next) this.ended = true;
  }
}
