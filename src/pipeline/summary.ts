/**
 * The per-label summary written on a job when it completes: for each label, how many analysed
 * frames it appears in, its best score, when it was first and last seen, and the time segments in
 * which it is present. Built in one pass over the frames in frame order (constant memory per
 * label), so a three-hour video is summarised without loading all its frames.
 */

export interface SummaryDetection {
  label: string;
  score: number;
}

export interface SummaryFrame {
  frameIndex: number;
  timestamp: number;
  detections: SummaryDetection[];
}

export interface LabelSegment {
  start: number;
  end: number;
}

export interface LabelSummary {
  label: string;
  frames: number;
  maxScore: number;
  firstSeen: number;
  lastSeen: number;
  segments: LabelSegment[];
}

export interface JobSummary {
  framesAnalysed: number;
  framesWithDetections: number;
  labels: LabelSummary[];
}

interface LabelState extends LabelSummary {
  /** position (in analysed-frame order) of the last frame the label was seen in */
  lastOrdinal: number;
}

/**
 * A label's segment stays open across up to `maxGapFrames` analysed frames without it: a detector
 * that misses an object for a frame or two should not split one appearance into many.
 */
export class SummaryBuilder {
  private readonly states = new Map<string, LabelState>();
  private ordinal = -1;
  private framesWithDetections = 0;

  constructor(private readonly maxGapFrames = 2) {}

  add(frame: SummaryFrame): void {
    this.ordinal += 1;
    if (frame.detections.length > 0) this.framesWithDetections += 1;
    const bestByLabel = new Map<string, number>();
    for (const d of frame.detections) {
      bestByLabel.set(d.label, Math.max(bestByLabel.get(d.label) ?? 0, d.score));
    }
    for (const [label, score] of bestByLabel) {
      const s = this.states.get(label);
      if (!s) {
        this.states.set(label, {
          label,
          frames: 1,
          maxScore: score,
          firstSeen: frame.timestamp,
          lastSeen: frame.timestamp,
          segments: [{ start: frame.timestamp, end: frame.timestamp }],
          lastOrdinal: this.ordinal,
        });
        continue;
      }
      s.frames += 1;
      s.maxScore = Math.max(s.maxScore, score);
      s.lastSeen = frame.timestamp;
      const open = s.segments[s.segments.length - 1];
      if (this.ordinal - s.lastOrdinal - 1 <= this.maxGapFrames) open.end = frame.timestamp;
      else s.segments.push({ start: frame.timestamp, end: frame.timestamp });
      s.lastOrdinal = this.ordinal;
    }
  }

  result(): JobSummary {
    const labels = [...this.states.values()]
      .map(({ lastOrdinal: _, ...rest }) => ({ ...rest, maxScore: round(rest.maxScore, 4) }))
      .sort((a, b) => b.frames - a.frames || a.label.localeCompare(b.label));
    return {
      framesAnalysed: this.ordinal + 1,
      framesWithDetections: this.framesWithDetections,
      labels,
    };
  }
}

export function summarize(frames: Iterable<SummaryFrame>, maxGapFrames?: number): JobSummary {
  const b = new SummaryBuilder(maxGapFrames);
  for (const f of frames) b.add(f);
  return b.result();
}

function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

/** A label's entry once tracking has run: how many distinct objects (non-noise tracks) it had. */
export interface LabelSummaryWithObjects extends LabelSummary {
  objects: number;
}

export interface JobSummaryWithObjects extends JobSummary {
  /** distinct objects over all labels (tracks of at least minTrackFrames frames) */
  objects: number;
  labels: LabelSummaryWithObjects[];
}

/**
 * Distinct objects per label: one per track with at least `minTrackFrames` frames. In the
 * pipeline the tracks repository answers this with one GROUP BY; this is the same rule over tracks
 * in memory (tests, benchmarks, the CLI).
 */
export function countObjects(
  tracks: Iterable<{ label: string; frames: number }>,
  minTrackFrames: number,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tracks) {
    if (t.frames >= minTrackFrames) counts.set(t.label, (counts.get(t.label) ?? 0) + 1);
  }
  return counts;
}

/**
 * The summary with distinct-object counts added: `objects` on each label and in total. Every
 * existing field is left as it was; a label counted but absent from the summary (cannot happen
 * when both come from the same frames) is not invented.
 */
export function withObjectCounts(
  summary: JobSummary,
  objectsPerLabel: ReadonlyMap<string, number>,
): JobSummaryWithObjects {
  const labels = summary.labels.map((l) => ({ ...l, objects: objectsPerLabel.get(l.label) ?? 0 }));
  return { ...summary, objects: labels.reduce((s, l) => s + l.objects, 0), labels };
}
