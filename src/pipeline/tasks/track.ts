import type { ChunksRepository } from '../../db/repositories/chunks.js';
import type { FrameRecord, FramesRepository, StoredDetection } from '../../db/repositories/frames.js';
import type { TransactionRepositories } from '../../db/repositories/index.js';
import type { JobsRepository } from '../../db/repositories/jobs.js';
import type { TrackerStatesRepository } from '../../db/repositories/tracker-states.js';
import {
  createTrackerState,
  DEFAULT_TRACKER_OPTIONS,
  type TrackerState,
  type TrackSummary,
  trackChunk,
} from '../../tracking/tracker.js';
import type { JobScheduler } from '../next.js';

/**
 * The `track` task: runs the tracker over the job's chunks in frame order, each chunk once, with
 * the tracker's state carried from one chunk to the next in `tracker_states` (docs/tracking.md:
 * the same video in one chunk or in many gives the same tracks, exactly). Chunks are detected in
 * parallel; each finished detect queues `track`, which tracks every chunk that is ready from the
 * job's `nextChunk` on and stops at the first one not detected yet (that chunk's own completion
 * queues `track` again). After the last chunk it queues `finalize`.
 *
 * One chunk's results are written in one transaction: the released frames rewritten with their
 * `trackId` (the weak detections, given only to keep tracks alive, drop out here), the finished
 * and open tracks upserted, and the state advanced with a compare-and-set on `nextChunk`. Two
 * track tasks of one job at once (a duplicate, a retry, a slow worker) both compute, but only
 * one write lands; the other reloads and goes on from where the winner left off.
 */

export interface TrackTaskDeps {
  jobs: Pick<JobsRepository, 'getById' | 'status'>;
  chunks: Pick<ChunksRepository, 'list' | 'get'>;
  frames: Pick<FramesRepository, 'list'>;
  trackerStates: Pick<TrackerStatesRepository, 'init' | 'load'>;
  transaction<T>(fn: (repos: TransactionRepositories) => Promise<T>): Promise<T>;
  scheduler: Pick<JobScheduler, 'finalize'>;
}

/**
 * The score the detector keeps for a job with `minScore`: down to the tracker's low score, so weak
 * detections can keep tracks alive (ByteTrack's second stage); the track step drops them after.
 */
export function detectionMinScore(minScore: number): number {
  return Math.min(DEFAULT_TRACKER_OPTIONS.lowScore, minScore);
}

/** The tracker's starting state for a job: its minScore is the tracker's high score. */
export function initialTrackerState(minScore: number): TrackerState<StoredDetection> {
  return createTrackerState<StoredDetection>({ highScore: minScore, lowScore: detectionMinScore(minScore) });
}

/** Frames of one chunk read at a time (the tracker's result does not depend on how they are cut). */
const PAGE = 500;

class LostRace extends Error {}

export function createTrackTask(deps: TrackTaskDeps) {
  return async function trackJob({ jobId }: { jobId: string; chunkIndex?: number }): Promise<void> {
    const job = await deps.jobs.getById(jobId);
    if (job?.status !== 'processing') return; // canceled, failed or deleted: stop here
    const chunks = await deps.chunks.list(jobId);
    if (chunks.length === 0) return;
    // every pass tracks one chunk or ends; a lost race costs a pass, so this bounds the loop
    for (let pass = 0; pass < 2 * chunks.length + 8; pass++) {
      let row = await deps.trackerStates.load<TrackerState<StoredDetection>>(jobId);
      if (!row) {
        await deps.trackerStates.init(jobId, initialTrackerState(job.options.minScore));
        row = await deps.trackerStates.load<TrackerState<StoredDetection>>(jobId);
        if (!row) return; // deleted meanwhile
      }
      const k = row.nextChunk;
      if (k >= chunks.length) {
        await deps.scheduler.finalize(job);
        return;
      }
      const chunk = await deps.chunks.get(jobId, k); // its status now, not when the list was read
      if (chunk?.status !== 'done') return;
      if ((await deps.jobs.status(jobId)) !== 'processing') return;
      const last = k === chunks.length - 1;
      let state = row.state;
      const released: FrameRecord[] = [];
      const tracks = new Map<number, TrackSummary>();
      let after = chunk.startFrame - 1;
      const until = chunk.startFrame + chunk.frameCount - 1;
      for (;;) {
        const page = await deps.frames.list(jobId, { afterFrame: after, untilFrame: until, limit: PAGE });
        if (page.length === 0) break;
        after = page[page.length - 1].frameIndex;
        const r = trackChunk(state, page.map(untracked));
        state = r.state;
        released.push(...r.frames);
        for (const t of [...r.finished, ...r.open]) tracks.set(t.id, t);
      }
      if (last) {
        // the video ends: the frames still waiting are released, every open track finished
        const r = trackChunk(state, [], { final: true });
        state = r.state;
        released.push(...r.frames);
        for (const t of r.finished) tracks.set(t.id, t);
      }
      try {
        await deps.transaction(async (tx) => {
          // the guard first: a step that lost the race writes nothing
          if (!(await tx.trackerStates.advance(jobId, k, state))) throw new LostRace();
          await tx.frames.upsert(jobId, released);
          await tx.tracks.upsert(jobId, [...tracks.values()]);
        });
      } catch (e) {
        if (e instanceof LostRace) continue; // another step tracked chunk k: go on from its state
        throw e;
      }
      if (last) {
        await deps.scheduler.finalize(job);
        return;
      }
    }
    throw new Error('tracking did not settle: too many concurrent track steps for one job');
  };
}

/** A stored frame as the tracker takes it: a re-read frame's old track ids are not input. */
function untracked(f: FrameRecord): FrameRecord {
  return {
    frameIndex: f.frameIndex,
    timestamp: f.timestamp,
    detections: f.detections.map(({ label, score, box }) => ({ label, score, box })),
  };
}
