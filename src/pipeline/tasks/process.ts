import type { ChunkPlan, ChunksRepository } from '../../db/repositories/chunks.js';
import type { JobsRepository } from '../../db/repositories/jobs.js';
import { planChunks, sampleFrames } from '../../media/chunks.js';
import { checkScanLimits, withScan } from '../../media/limits.js';
import { type FrameScan, ScanError, scanVideoFrames } from '../../media/packets.js';
import { ProbeError, probeVideo } from '../../media/probe.js';
import type { MediaSettings } from '../../media/settings.js';
import type { BlobStore } from '../../storage/local.js';
import { PermanentTaskError } from '../failures.js';
import type { JobScheduler } from '../next.js';

/**
 * The `process` task: reads every frame's timestamp and the keyframes from the video's packets,
 * chooses the frames to analyse, splits them into chunks at keyframes, stores the plan and queues
 * one detect task per chunk. Re-running it is harmless: the plan is the same and inserted once.
 */
export interface ProcessTaskDeps {
  jobs: Pick<JobsRepository, 'getById' | 'startProcessing'>;
  chunks: Pick<ChunksRepository, 'insertPlan' | 'list'>;
  media: MediaSettings;
  /** where the stored videos are (the media tool reads them by path) */
  storage: Pick<BlobStore, 'path'>;
  scheduler: Pick<JobScheduler, 'continueJob'>;
  settings: { chunkSeconds: number };
}

export function createProcessTask(deps: ProcessTaskDeps) {
  return async function processJob({ jobId }: { jobId: string }): Promise<void> {
    const job = await deps.jobs.getById(jobId);
    if (!job || (job.status !== 'queued' && job.status !== 'processing')) return;
    const file = deps.storage.path(job.videoKey);
    // a job accepted before formats were pinned is probed again (and refused now if it must be)
    let format = job.probe.pinnedFormat;
    if (!format) {
      try {
        format = (await probeVideo(deps.media, file)).pinnedFormat as string;
      } catch (e) {
        if (e instanceof ProbeError) throw new PermanentTaskError(e.message);
        throw e;
      }
    }
    let scan: FrameScan;
    try {
      scan = await scanVideoFrames(deps.media, file, format);
    } catch (e) {
      if (e instanceof ScanError) throw new PermanentTaskError(e.message);
      throw e;
    }
    if (scan.timestamps.length === 0)
      throw new PermanentTaskError('The video has no frames that can be read.');
    // the limits on the real stream, when the upload could not check them before the 202
    const refusal = checkScanLimits(scan, deps.media.limits);
    if (refusal) throw new PermanentTaskError(refusal.message);
    const analysed = sampleFrames(scan.timestamps, job.options.fps);
    const plan = chunkPlans(scan, analysed, deps.settings.chunkSeconds);
    await deps.chunks.insertPlan(jobId, plan);
    const started = await deps.jobs.startProcessing(jobId, {
      chunksTotal: plan.length,
      framesTotal: analysed.length,
      // the upload path's scan was skipped or ran out of time: the job's probe takes the real
      // duration (the last frame's timestamp; a header may state none) and frame count from here
      ...(job.probe.scanned ? {} : { probe: withScan(job.probe, scan) }),
    });
    if (!started) return; // canceled or deleted meanwhile
    // a re-run process task may find chunks (or every chunk) already done
    await deps.scheduler.continueJob(job, await deps.chunks.list(jobId));
  };
}

/** Pure: the chunks of a scanned video, each with its own analysed frames and seek hints. */
export function chunkPlans(scan: FrameScan, analysed: number[], chunkSeconds: number): ChunkPlan[] {
  const chunks = planChunks(scan, { chunkSeconds });
  let next = 0; // walk the sorted sample once, handing each chunk its own frames
  let kf = 0;
  return chunks.map((c) => {
    const end = c.startFrame + c.frameCount;
    const indices: number[] = [];
    while (next < analysed.length && analysed[next] < end) indices.push(analysed[next++]);
    while (kf < scan.keyframes.length && scan.keyframes[kf] <= c.startFrame) kf++;
    const nextKeyframeSec = kf < scan.keyframes.length ? scan.timestamps[scan.keyframes[kf]] : null;
    return {
      chunkIndex: c.index,
      startSec: c.startSec,
      endSec: c.endSec,
      startFrame: c.startFrame,
      frameCount: c.frameCount,
      sample: {
        indices,
        timestamps: indices.map((i) => scan.timestamps[i]),
        firstPtsSec: scan.firstPtsSec,
        nextKeyframeSec,
        ticks: indices.map((i) => scan.ticks[i]),
        seekTicks: c.startFrame > 0 ? seekTicksOf(scan, c.startFrame) : null,
      },
    };
  });
}

/** The chunk keyframe's min(pts, dts) (time-base units): a backward seek to it never lands after it. */
function seekTicksOf(scan: FrameScan, frame: number): number {
  const k = scan.keyframes.indexOf(frame);
  const dts = k >= 0 ? scan.keyframeDts[k] : scan.ticks[frame];
  return Math.min(scan.ticks[frame], dts);
}
