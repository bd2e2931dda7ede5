import type { FramesRepository } from '../../db/repositories/frames.js';
import type { JobsRepository } from '../../db/repositories/jobs.js';
import type { TrackerStatesRepository } from '../../db/repositories/tracker-states.js';
import type { TracksRepository } from '../../db/repositories/tracks.js';
import { DEFAULT_MIN_TRACK_FRAMES } from '../../tracking/noise.js';
import type { JobScheduler } from '../next.js';
import { SummaryBuilder, withObjectCounts } from '../summary.js';

/**
 * The `finalize` task: summarises every frame of the job (per label: frames, best score, first and
 * last seen, segments, and distinct objects: tracks of at least the job's minTrackFrames frames),
 * completes it exactly once (a conditional UPDATE: a duplicate finalize does nothing) and queues
 * the callback. A finalize that comes before every chunk is tracked (the watchdog re-queues it
 * for an idle job whose chunks are all detected) queues `track` instead, which comes back here.
 */
export interface FinalizeTaskDeps {
  jobs: Pick<JobsRepository, 'getById' | 'complete' | 'fail'>;
  frames: Pick<FramesRepository, 'list'>;
  tracks: Pick<TracksRepository, 'countObjects'>;
  trackerStates: Pick<TrackerStatesRepository, 'load'>;
  scheduler: Pick<JobScheduler, 'callback' | 'track'>;
}

export function createFinalizeTask(deps: FinalizeTaskDeps) {
  return async function finalizeJob({ jobId }: { jobId: string }): Promise<void> {
    const job = await deps.jobs.getById(jobId);
    if (job?.status !== 'processing') return;
    // frames were planned but none could be decoded: nothing at all was analysed, so the job
    // fails here, once (a conditional UPDATE), with the chunks' reason and the failure callback
    if (job.framesTotal > 0 && job.framesDone === 0 && job.framesSkipped > 0) {
      if (await deps.jobs.fail(jobId, noFrameReason(job.warnings))) {
        await deps.scheduler.callback(jobId, job.options.callbackUrl);
      }
      return;
    }
    const tracked = await deps.trackerStates.load(jobId);
    if ((tracked?.nextChunk ?? 0) < job.chunksTotal) {
      await deps.scheduler.track(job, job.chunksTotal - 1);
      return;
    }
    const builder = new SummaryBuilder();
    let after: number | undefined;
    for (;;) {
      const page = await deps.frames.list(jobId, { afterFrame: after, limit: 2000 });
      if (page.length === 0) break;
      for (const f of page) builder.add(f);
      after = page[page.length - 1].frameIndex;
    }
    const minTrackFrames = job.options.minTrackFrames ?? DEFAULT_MIN_TRACK_FRAMES;
    const summary = withObjectCounts(builder.result(), await deps.tracks.countObjects(jobId, minTrackFrames));
    if (await deps.jobs.complete(jobId, summary)) {
      await deps.scheduler.callback(jobId, job.options.callbackUrl);
    }
  };
}

/** The job's error when no frame decoded: the first chunk's reason, as one sentence. */
export function noFrameReason(warnings: readonly string[]): string {
  const first = warnings[0] ?? '';
  const i = first.indexOf(': ');
  const why =
    i >= 0 ? first.slice(i + 2).replace(/\.$/, '') : 'the frames are missing or corrupt in the file';
  return `No frame of the video could be decoded: ${why}.`;
}
