import { iou } from '../inference/nms.js';
import type { Box } from '../inference/types.js';
import { assignWithLimit } from './assignment.js';
import { initiateBox, type KalmanBox, kalmanToBox, predictBox, updateBox } from './kalman.js';

/**
 * A ByteTrack-style multi-object tracker as pure functions over a JSON-serialisable state.
 *
 * Per analysed frame, per label (a track has one label; boxes of different labels are never
 * associated): every track's Kalman box is predicted to the frame's time; confirmed tracks
 * (tracked or lost) are matched to the high-score detections on IoU; the confirmed tracks still
 * tracked and unmatched get a second chance with the low-score detections (which keeps a track
 * alive through frames where the detector is unsure, the point of ByteTrack); tentative tracks
 * are matched to the high-score detections left; the high-score detections left start tentative
 * tracks. A tentative track becomes confirmed, and gets its job-wide id, after `confirmHits`
 * consecutive hits, and is dropped at its first miss. A confirmed track that misses is `lost`,
 * predicted on along its path, and can be picked up again for `maxLostSeconds`; after that it is
 * finished.
 *
 * Time, not frames: frames may be sampled (`fps`) or variable-rate, so the lost buffer is in
 * seconds and the Kalman filter steps by elapsed time (see kalman.ts).
 *
 * Chunks: `trackChunk(state, frames)` takes the frames of one chunk in frame order and returns
 * the new state; feeding a video chunk by chunk, with the state saved as JSON in between, gives
 * exactly what one call over all its frames gives (the state holds everything the next frame
 * depends on, and JSON keeps doubles exact). So tracks run over the whole video, not per chunk,
 * and there is nothing to stitch.
 *
 * Output lags by up to `confirmHits - 1` frames: a frame is released once every detection in it is
 * known to belong to a confirmed track or to none (a tentative track's first hits get its id when
 * it is confirmed). Released frames carry each detection's `trackId` (or null); detections under
 * `highScore` are not released (they were given only for the second stage) unless
 * `reportLowScore` is set, and then only those that continue a track.
 */

export interface TrackableDetection {
  label: string;
  score: number;
  box: Box;
}

export interface TrackInputFrame<D extends TrackableDetection = TrackableDetection> {
  frameIndex: number;
  /** seconds */
  timestamp: number;
  detections: D[];
}

export type TrackedDetection<D extends TrackableDetection = TrackableDetection> = D & {
  trackId: number | null;
};

export interface TrackedFrame<D extends TrackableDetection = TrackableDetection> {
  frameIndex: number;
  timestamp: number;
  detections: TrackedDetection<D>[];
}

/** One track's aggregates: what the tracks resource serves. */
export interface TrackSummary {
  id: number;
  label: string;
  firstFrame: number;
  lastFrame: number;
  /** seconds */
  firstSeen: number;
  lastSeen: number;
  /** analysed frames with a detection of this track */
  frames: number;
  maxScore: number;
  /** the frame of the highest score (the first such, on ties), for the thumbnail */
  bestFrame: number;
  bestSeen: number;
  /** the detection's box in that frame */
  box: Box;
}

export interface TrackerOptions {
  /** detections at or above it are matched first and may start tracks (the job's minScore) */
  highScore: number;
  /** detections from here up to highScore only continue tracks already confirmed */
  lowScore: number;
  /** score a detection needs to start a track (default highScore) */
  newTrackScore: number;
  /** least IoU between a confirmed track's predicted box and a high-score detection */
  matchIou: number;
  /** least IoU for the second stage (low-score detections) */
  lowMatchIou: number;
  /** least IoU between a tentative track and a detection */
  tentativeMatchIou: number;
  /** consecutive hits that confirm a track */
  confirmHits: number;
  /** how long a lost track may be picked up again */
  maxLostSeconds: number;
  /**
   * Report the low-score detections that continue a track too (default false: they only keep
   * tracks alive; what is reported, and counted in a track's aggregates, is what scored at least
   * highScore). Measured on real footage, reporting them costs more precision than it gains recall
   * (BENCHMARKS.md, "Tracking").
   */
  reportLowScore: boolean;
}

/**
 * Defaults. highScore 0.35 is the minScore measured best on real footage (BENCHMARKS.md,
 * "Tracking"); the pipeline passes the job's minScore. matchIou 0.3 (ByteTrack: 0.2 with score
 * fusion) and maxLostSeconds 1 (ByteTrack: 30 frames at 30 fps) were compared on the synthetic
 * scenes there.
 */
export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = {
  highScore: 0.35,
  lowScore: 0.1,
  newTrackScore: 0.35,
  matchIou: 0.3,
  lowMatchIou: 0.5,
  tentativeMatchIou: 0.3,
  confirmHits: 3,
  maxLostSeconds: 1,
  reportLowScore: false,
};

type TrackStatus = 'tentative' | 'tracked' | 'lost';

interface TrackRecord extends Omit<TrackSummary, 'id'> {
  /** internal, from birth; `id` is only given at confirmation, so ids count confirmed tracks */
  key: number;
  id: number | null;
  status: TrackStatus;
  kalman: KalmanBox;
  /** the time the filter has been predicted to */
  time: number;
  /** when a detection last matched it (low-score ones included): the lost buffer runs from here */
  lastHit: number;
  /** that detection's box */
  lastBox: Box;
}

/** A detection's place while its frame waits: `key` set while its track is still tentative. */
interface PendingRef {
  id: number | null;
  key?: number;
}

interface PendingFrame<D extends TrackableDetection> {
  frameIndex: number;
  timestamp: number;
  detections: D[];
  refs: PendingRef[];
}

export interface TrackerState<D extends TrackableDetection = TrackableDetection> {
  version: 1;
  options: TrackerOptions;
  nextId: number;
  nextKey: number;
  lastFrameIndex: number | null;
  tracks: TrackRecord[];
  pending: PendingFrame<D>[];
  ended: boolean;
}

export interface ChunkResult<D extends TrackableDetection = TrackableDetection> {
  state: TrackerState<D>;
  /** frames released by this call, in frame order (may include frames of earlier chunks) */
  frames: TrackedFrame<D>[];
  /** confirmed tracks that ended during this call */
  finished: TrackSummary[];
  /** confirmed tracks still open after it (their aggregates so far) */
  open: TrackSummary[];
}

export class TrackerInputError extends Error {}

export function createTrackerState<D extends TrackableDetection = TrackableDetection>(
  options: Partial<TrackerOptions> = {},
): TrackerState<D> {
  const highScore = options.highScore ?? DEFAULT_TRACKER_OPTIONS.highScore;
  const o: TrackerOptions = {
    ...DEFAULT_TRACKER_OPTIONS,
    newTrackScore: highScore,
    ...options,
  };
  const unit = (x: number) => Number.isFinite(x) && x >= 0 && x <= 1;
  if (![o.highScore, o.lowScore, o.newTrackScore, o.matchIou, o.lowMatchIou, o.tentativeMatchIou].every(unit))
    throw new TrackerInputError('Tracker scores and IoU thresholds must be between 0 and 1.');
  if (o.lowScore > o.highScore) throw new TrackerInputError('lowScore must not be above highScore.');
  if (!Number.isInteger(o.confirmHits) || o.confirmHits < 1)
    throw new TrackerInputError('confirmHits must be a whole number of at least 1.');
  if (!(Number.isFinite(o.maxLostSeconds) && o.maxLostSeconds >= 0))
    throw new TrackerInputError('maxLostSeconds must be a number of seconds, 0 or more.');
  return {
    version: 1,
    options: o,
    nextId: 1,
    nextKey: 1,
    lastFrameIndex: null,
    tracks: [],
    pending: [],
    ended: false,
  };
}

/**
 * Tracks one chunk's frames (in frame order, after every frame given before). With `final`, the
 * video ends here: every waiting frame is released and every open track finished.
 */
export function trackChunk<D extends TrackableDetection>(
  state: TrackerState<D>,
  frames: readonly TrackInputFrame<D>[],
  opts: { final?: boolean } = {},
): ChunkResult<D> {
  if (state.version !== 1) throw new TrackerInputError(`Unknown tracker state version ${state.version}.`);
  if (state.ended) throw new TrackerInputError('This tracker state has already ended.');
  const st: TrackerState<D> = structuredClone(state);
  const out: TrackedFrame<D>[] = [];
  const finished: TrackSummary[] = [];
  for (const frame of frames) {
    if (st.lastFrameIndex !== null && frame.frameIndex <= st.lastFrameIndex) {
      throw new TrackerInputError(
        `Frame ${frame.frameIndex} comes after frame ${st.lastFrameIndex}: frames must be in order.`,
      );
    }
    step(st, frame, finished);
    st.lastFrameIndex = frame.frameIndex;
    release(st, out, false);
  }
  if (opts.final) {
    for (const t of st.tracks) {
      if (t.status === 'tentative') dropTentative(st, t);
      else finished.push(summaryOf(t));
    }
    st.tracks = [];
    release(st, out, true);
    st.ended = true;
  }
  const open = st.tracks.filter((t) => t.status !== 'tentative').map(summaryOf);
  return { state: st, frames: out, finished, open };
}

/** Convenience for a whole video in memory (tests, benchmarks): one chunk, final. */
export function trackAll<D extends TrackableDetection>(
  frames: readonly TrackInputFrame<D>[],
  options: Partial<TrackerOptions> = {},
): { frames: TrackedFrame<D>[]; tracks: TrackSummary[] } {
  const r = trackChunk(createTrackerState<D>(options), frames, { final: true });
  return { frames: r.frames, tracks: r.finished.sort((a, b) => a.id - b.id) };
}

function summaryOf(t: TrackRecord): TrackSummary {
  return {
    id: t.id as number,
    label: t.label,
    firstFrame: t.firstFrame,
    lastFrame: t.lastFrame,
    firstSeen: t.firstSeen,
    lastSeen: t.lastSeen,
    frames: t.frames,
    maxScore: t.maxScore,
    bestFrame: t.bestFrame,
    bestSeen: t.bestSeen,
    box: { ...t.box },
  };
}

function step<D extends TrackableDetection>(
  st: TrackerState<D>,
  frame: TrackInputFrame<D>,
  finished: TrackSummary[],
): void {
  const o = st.options;
  const t = frame.timestamp;
  for (const tr of st.tracks) {
    tr.kalman = predictBox(tr.kalman, t - tr.time, tr.status === 'lost');
    tr.time = Math.max(tr.time, t);
  }
  const refs: PendingRef[] = frame.detections.map(() => ({ id: null }));
  const labels = [
    ...new Set([...frame.detections.map((d) => d.label), ...st.tracks.map((x) => x.label)]),
  ].sort();
  const hit = (tr: TrackRecord, di: number) => {
    const d = frame.detections[di];
    tr.kalman = updateBox(tr.kalman, d.box);
    tr.lastHit = t;
    tr.lastBox = { ...d.box };
    if (d.score >= o.highScore || o.reportLowScore) {
      // the aggregates describe what is reported
      tr.frames += 1;
      tr.lastFrame = frame.frameIndex;
      tr.lastSeen = t;
      if (d.score > tr.maxScore) {
        tr.maxScore = d.score;
        tr.bestFrame = frame.frameIndex;
        tr.bestSeen = t;
        tr.box = { ...d.box };
      }
    }
    if (tr.status === 'tentative') {
      refs[di] = { id: null, key: tr.key };
      // tentative tracks only ever match high-score detections: frames counts their hits
      if (tr.frames >= o.confirmHits) confirm(st, tr, refs);
    } else {
      tr.status = 'tracked';
      refs[di] = { id: tr.id };
    }
  };
  const removed = new Set<TrackRecord>();
  for (const label of labels) {
    const high: number[] = [];
    const low: number[] = [];
    frame.detections.forEach((d, i) => {
      if (d.label !== label) return;
      if (d.score >= o.highScore) high.push(i);
      else if (d.score >= o.lowScore) low.push(i);
    });
    const ofLabel = st.tracks.filter((x) => x.label === label);
    const confirmed = ofLabel.filter((x) => x.status !== 'tentative');
    // 1: confirmed tracks (tracked or lost) against high-score detections
    const s1 = associate(confirmed, high, frame.detections, o.matchIou);
    for (const [ti, di] of s1.matches) hit(confirmed[ti], high[di]);
    // 2: tracks that were tracked until now get a chance with the low-score ones
    const stillTracked = s1.unmatchedRows.map((i) => confirmed[i]).filter((x) => x.status === 'tracked');
    const s2 = associate(stillTracked, low, frame.detections, o.lowMatchIou);
    for (const [ti, di] of s2.matches) hit(stillTracked[ti], low[di]);
    for (const i of s2.unmatchedRows) stillTracked[i].status = 'lost';
    // 3: tentative tracks against the high-score detections left; a miss ends them
    const highLeft = s1.unmatchedCols.map((j) => high[j]);
    const tentative = ofLabel.filter((x) => x.status === 'tentative');
    const s3 = associate(tentative, highLeft, frame.detections, o.tentativeMatchIou);
    for (const [ti, di] of s3.matches) hit(tentative[ti], highLeft[di]);
    for (const i of s3.unmatchedRows) {
      dropTentative(st, tentative[i]);
      removed.add(tentative[i]);
    }
    // 4: what is left starts tracks
    for (const j of s3.unmatchedCols) {
      const di = highLeft[j];
      const d = frame.detections[di];
      if (d.score < o.newTrackScore) continue;
      const tr: TrackRecord = {
        key: st.nextKey++,
        id: null,
        status: 'tentative',
        kalman: initiateBox(d.box),
        time: t,
        lastHit: t,
        lastBox: { ...d.box },
        label,
        firstFrame: frame.frameIndex,
        lastFrame: frame.frameIndex,
        firstSeen: t,
        lastSeen: t,
        frames: 1,
        maxScore: d.score,
        bestFrame: frame.frameIndex,
        bestSeen: t,
        box: { ...d.box },
      };
      st.tracks.push(tr);
      refs[di] = { id: null, key: tr.key };
      if (o.confirmHits <= 1) confirm(st, tr, refs);
    }
  }
  for (const tr of st.tracks) {
    if (tr.status === 'lost' && t - tr.lastHit > o.maxLostSeconds) {
      finished.push(summaryOf(tr));
      removed.add(tr);
    }
  }
  if (removed.size > 0) st.tracks = st.tracks.filter((x) => !removed.has(x));
  st.pending.push({
    frameIndex: frame.frameIndex,
    timestamp: frame.timestamp,
    detections: frame.detections,
    refs,
  });
}

/** Cost 1 - IoU between the tracks' predicted boxes and the chosen detections, pairs with IoU >= minIou. */
function associate(
  tracks: TrackRecord[],
  detIndices: number[],
  dets: readonly TrackableDetection[],
  minIou: number,
) {
  const cost = tracks.map((x) => {
    const predicted = kalmanToBox(x.kalman);
    // a lost track may also be found where it was last seen: its predicted path can be wrong
    // when the detector's boxes shrank as something covered it (the velocity learned then is)
    const last = x.status === 'lost' ? x.lastBox : null;
    return detIndices.map(
      (di) => 1 - Math.max(iou(predicted, dets[di].box), last ? iou(last, dets[di].box) : 0),
    );
  });
  // a pair with no overlap at all is never made, even when minIou is 0
  for (const row of cost)
    for (let j = 0; j < row.length; j++) if (row[j] >= 1) row[j] = Number.POSITIVE_INFINITY;
  return assignWithLimit(cost, 1 - minIou, detIndices.length);
}

function confirm<D extends TrackableDetection>(
  st: TrackerState<D>,
  tr: TrackRecord,
  current: PendingRef[],
): void {
  tr.status = 'tracked';
  tr.id = st.nextId++;
  const give = (r: PendingRef) => {
    if (r.key === tr.key) {
      r.id = tr.id;
      delete r.key;
    }
  };
  for (const f of st.pending) f.refs.forEach(give);
  current.forEach(give);
}

function dropTentative<D extends TrackableDetection>(st: TrackerState<D>, tr: TrackRecord): void {
  for (const f of st.pending) {
    for (const r of f.refs) if (r.key === tr.key) delete r.key;
  }
}

/** Moves frames whose every detection is settled (no tentative track) from pending to out. */
function release<D extends TrackableDetection>(
  st: TrackerState<D>,
  out: TrackedFrame<D>[],
  all: boolean,
): void {
  const { highScore, reportLowScore } = st.options;
  let n = 0;
  for (const f of st.pending) {
    if (!all && f.refs.some((r) => r.key !== undefined)) break;
    const detections: TrackedDetection<D>[] = [];
    f.detections.forEach((d, i) => {
      const id = f.refs[i].id;
      // a detection under highScore was given only to continue tracks
      if (d.score < highScore && (id === null || !reportLowScore)) return;
      detections.push({ ...d, trackId: id });
    });
    out.push({ frameIndex: f.frameIndex, timestamp: f.timestamp, detections });
    n += 1;
  }
  st.pending.splice(0, n);
}
