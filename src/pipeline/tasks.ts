import type { Logger } from 'pino';
import type { PipelineRepository } from '../db/repositories/pipeline.js';
import { ffmpegScaleFilter } from '../inference/resize.js';
import type { Detection, Detector } from '../inference/types.js';
import type { MediaBinaries } from '../media/binaries.js';
import { planChunks, sampleFrames } from '../media/chunks.js';
import { chunkDecodeArgs } from '../media/decode-args.js';
import { decodeChunkFrames } from '../media/frames.js';
import { displaySize } from '../media/orientation.js';
import { scanVideoFrames } from '../media/packets.js';
import {
  DeferTask,
  type TaskContext,
  type TaskHandler,
  type TaskName,
  type TaskQueue,
} from '../queue/port.js';
import { CALLBACK_RETRY_DELAYS_MS, CALLBACK_RETRY_JITTER } from './callbacks.js';
import { SummaryBuilder } from './summary.js';

/**
 * The pipeline's task handlers: `process` plans a job's chunks, `detect` analyses one chunk,
 * `finalize` completes the job once, `notify` delivers its callback. They are the same functions
 * under the in-process queue and under BullMQ; they take every dependency explicitly.
 */

export interface JobForPipeline {
  id: string;
  /** the owner: the fairness key of the job's tasks */
  userId: string;
  status: string;
  videoKey: string;
  probe: { video: { width: number; height: number; rotation: number } };
  options: {
    fps: number | null;
    minScore: number;
    labels: string[] | null;
    model: string;
    callbackUrl: string | null;
  };
}

export interface PipelineDeps {
  repo: PipelineRepository;
  loadJob(jobId: string): Promise<JobForPipeline | null>;
  videoPath(key: string): string;
  media: MediaBinaries;
  detectors: { get(name?: string): Promise<Detector> };
  queue: Pick<TaskQueue, 'enqueue'>;
  notify(jobId: string): Promise<void>;
  log: Logger;
  settings: {
    chunkSeconds: number;
    batchSize: number;
    attempts: number;
    backoffMs: number;
    decodeThreads?: number;
    /** frames ffmpeg may decode ahead of the detector (decodeChunkFrames' default when unset) */
    decodeReadAhead?: number;
    /** a chunk's results are written at most this often (ms), and at its end (default 1000) */
    writeEveryMs?: number;
    /** jobs one user may have processing at once; more wait `queued` (0 or unset: no limit) */
    userMaxActiveJobs?: number;
    /** how often a job waiting for its user's slot looks again (ms, default 2000) */
    slotPollMs?: number;
    /** delays between callback attempts (default CALLBACK_RETRY_DELAYS_MS) */
    callbackRetryDelaysMs?: readonly number[];
  };
}

/** Thrown for conditions a retry cannot fix; the message is shown to the user as the job's error. */
export class PermanentTaskError extends Error {}

export function createTaskHandlers(deps: PipelineDeps): { [N in TaskName]: TaskHandler<N> } {
  const { repo, settings } = deps;
  const taskOpts = (dedupeId: string, fairnessKey: string) => ({
    dedupeId,
    fairnessKey,
    attempts: settings.attempts,
    backoffMs: settings.backoffMs,
  });

  async function processJob({ jobId }: { jobId: string }): Promise<void> {
    const job = await deps.loadJob(jobId);
    if (!job || (job.status !== 'queued' && job.status !== 'processing')) return;
    // the user's active-job limit: this job waits (queued, the task deferred) until a slot frees
    if (settings.userMaxActiveJobs && !(await repo.claimJobSlot(jobId, settings.userMaxActiveJobs))) {
      if ((await repo.jobStatus(jobId)) === 'queued') throw new DeferTask(settings.slotPollMs ?? 2000);
      return; // canceled or deleted while waiting
    }
    const scan = await scanVideoFrames(deps.media.ffprobe, deps.videoPath(job.videoKey));
    if (scan.timestamps.length === 0)
      throw new PermanentTaskError('The video has no frames that can be read.');
    const analysed = sampleFrames(scan.timestamps, job.options.fps);
    const plan = planChunks(scan, { chunkSeconds: settings.chunkSeconds });
    let next = 0; // walk the sorted sample once, handing each chunk its own frames
    let kf = 0;
    const rows = plan.map((c) => {
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
        },
      };
    });
    await repo.insertChunks(jobId, rows);
    if (!(await repo.startProcessing(jobId, { chunksTotal: rows.length, framesTotal: analysed.length })))
      return;
    const chunks = await repo.listChunks(jobId);
    let pending = 0;
    for (const c of chunks) {
      if (c.status === 'done') continue;
      pending += 1;
      await deps.queue.enqueue(
        'detect',
        { jobId, chunkIndex: c.chunkIndex },
        taskOpts(`detect:${jobId}:${c.chunkIndex}`, job.userId),
      );
    }
    // a re-run process task may find every chunk already done
    if (pending === 0)
      await deps.queue.enqueue('finalize', { jobId }, taskOpts(`finalize:${jobId}`, job.userId));
  }

  async function detectChunk({ jobId, chunkIndex }: { jobId: string; chunkIndex: number }, ctx: TaskContext) {
    const job = await deps.loadJob(jobId);
    if (!job || job.status !== 'processing') return; // canceled, failed or deleted: stop here
    const chunk = await repo.getChunk(jobId, chunkIndex);
    if (!chunk) return;
    if (chunk.status !== 'done') {
      await repo.markChunk(jobId, chunkIndex, { status: 'running', incrementAttempts: true });
      const stillWanted = await analyseChunk(job, chunk, ctx);
      if (!stillWanted) return;
      await repo.markChunk(jobId, chunkIndex, { status: 'done' });
    }
    const progress = await repo.refreshChunkProgress(jobId);
    if (progress && progress.chunksDone >= progress.chunksTotal) {
      await deps.queue.enqueue('finalize', { jobId }, taskOpts(`finalize:${jobId}`, job.userId));
    }
  }

  /** Decodes the chunk, runs the detector in batches, writes frames. False if the job went away. */
  async function analyseChunk(
    job: JobForPipeline,
    chunk: Awaited<ReturnType<PipelineRepository['getChunk']>> & {},
    ctx: TaskContext,
  ): Promise<boolean> {
    const { indices, timestamps } = chunk.sample;
    if (indices.length === 0) {
      await repo.saveFrames(job.id, chunk.chunkIndex, [], 0);
      return true;
    }
    const detector = await deps.detectors.get(job.options.model);
    const { width: inW, height: inH } = detector.model.input;
    // frames come out of ffmpeg as displayed (rotation applied), so boxes map to the displayed size
    const original = displaySize(job.probe.video);
    const args = chunkDecodeArgs({
      file: deps.videoPath(job.videoKey),
      startSec: chunk.startSec,
      frameCount: chunk.frameCount,
      selectFrames: indices.length === chunk.frameCount ? null : indices.map((i) => i - chunk.startFrame),
      scaleFilter: ffmpegScaleFilter(detector.model.input),
      threads: settings.decodeThreads,
      rotation: job.probe.video.rotation,
      firstPtsSec: chunk.sample.firstPtsSec,
      nextKeyframeSec: chunk.sample.nextKeyframeSec,
    });
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const detectOpts = { minScore: job.options.minScore, labels: job.options.labels ?? undefined };
    // Batches go through the detector in order, one at a time. The detector (its own thread: see
    // createDetectorSession) runs on batch k while the loop below reads batch k+1 from ffmpeg
    // (which decodes ahead in its own process: see decodeChunkFrames) and while batch k-1's
    // results are stored.
    let done = 0; // frames written so far
    let queued = 0; // frames handed to the detector so far
    let batch: Uint8Array[] = [];
    let detecting: Promise<unknown> = Promise.resolve();
    let tail: Promise<boolean> = Promise.resolve(true);
    // results wait here and are written together: one status check and one write a second, not
    // one per batch (PGlite runs on this thread, which also feeds the detector and reads ffmpeg)
    let unwritten: {
      frameIndex: number;
      timestamp: number;
      detections: ReturnType<typeof toStoredDetection>[];
    }[] = [];
    let lastWrite = performance.now();
    const writeEveryMs = settings.writeEveryMs ?? 1000;
    let flushedLast = false;
    const flush = async (last: boolean): Promise<boolean> => {
      flushedLast = last;
      const frames = batch;
      const offset = queued;
      batch = [];
      queued += frames.length;
      await detecting; // one batch in the detector at a time (a CPU session uses every core)
      const detected =
        frames.length > 0 ? detector.detect(frames, original, detectOpts) : Promise.resolve([]);
      detecting = detected.catch(() => undefined);
      const previous = tail;
      // writes stay in order: this batch is written after the previous one
      tail = (async () => {
        const results = await detected;
        if (!(await previous)) return false;
        for (let k = 0; k < results.length; k++) {
          unwritten.push({
            frameIndex: indices[offset + k],
            timestamp: timestamps[offset + k],
            detections: results[k].map(toStoredDetection),
          });
        }
        if (!last && performance.now() - lastWrite < writeEveryMs) return true;
        // a canceled or deleted job stops here; its frames are not written
        if ((await repo.jobStatus(job.id)) !== 'processing') return false;
        const records = unwritten;
        unwritten = [];
        await repo.saveFrames(job.id, chunk.chunkIndex, records, done + records.length);
        done += records.length;
        lastWrite = performance.now();
        return true;
      })();
      tail.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled
      return previous;
    };
    try {
      try {
        for await (const frame of decodeChunkFrames(deps.media.ffmpeg, args, inW * inH * 3, {
          expectedFrames: indices.length,
          signal: abort.signal,
          readAhead: settings.decodeReadAhead,
        })) {
          batch.push(frame);
          if (batch.length >= settings.batchSize && !(await flush(queued + batch.length >= indices.length))) {
            abort.abort();
            return false;
          }
        }
        // the rest, and whatever results still wait to be written
        if ((batch.length > 0 || !flushedLast) && !(await flush(true))) return false;
        if (!(await tail)) return false;
      } catch (err) {
        await tail.catch(() => undefined); // no write left running behind a failed chunk
        throw err;
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    if (done !== indices.length) {
      throw new Error(`chunk ${chunk.chunkIndex} yielded ${done} frames instead of ${indices.length}`);
    }
    return true;
  }

  async function finalizeJob({ jobId }: { jobId: string }): Promise<void> {
    const status = await repo.jobStatus(jobId);
    if (status !== 'processing') return;
    const builder = new SummaryBuilder();
    let after: number | undefined;
    for (;;) {
      const page = await repo.listFrames(jobId, { afterFrame: after, limit: 2000 });
      if (page.length === 0) break;
      for (const f of page) builder.add(f as Parameters<SummaryBuilder['add']>[0]);
      after = page[page.length - 1].frameIndex;
    }
    const won = await repo.finish(jobId, 'completed', { summary: builder.result() });
    if (won) await enqueueCallback({ ...deps, retryDelaysMs: settings.callbackRetryDelaysMs }, jobId);
  }

  return {
    process: processJob,
    detect: detectChunk,
    finalize: finalizeJob,
    notify: async ({ jobId }) => deps.notify(jobId),
  };
}

/**
 * Queues the job's callback, if it has one. The one place that says how callbacks are retried:
 * used after completion (finalize) and after a final failure (the pipeline's failure listener).
 * Retries follow `retryDelaysMs` (CALLBACK_RETRY_DELAYS; by default 10 s, 1 min, 5 min, 30 min,
 * 2 h, 6 h), each ±20 %, so a receiver that is down for hours still gets the callback.
 */
export async function enqueueCallback(
  deps: {
    queue: Pick<TaskQueue, 'enqueue'>;
    loadJob(jobId: string): Promise<JobForPipeline | null>;
    retryDelaysMs?: readonly number[];
  },
  jobId: string,
): Promise<void> {
  const job = await deps.loadJob(jobId);
  if (job?.options.callbackUrl) {
    const retryDelaysMs = deps.retryDelaysMs ?? CALLBACK_RETRY_DELAYS_MS;
    await deps.queue.enqueue(
      'notify',
      { jobId },
      {
        dedupeId: `notify:${jobId}`,
        attempts: retryDelaysMs.length + 1,
        retryDelaysMs,
        retryJitter: CALLBACK_RETRY_JITTER,
      },
    );
  }
}

/** What is stored per detection: label, score rounded to 4 places, box rounded to 0.1 px. */
export function toStoredDetection(d: Detection) {
  const r = (x: number, k: number) => Math.round(x * k) / k;
  return {
    label: d.label,
    score: r(d.score, 1e4),
    box: { x1: r(d.box.x1, 10), y1: r(d.box.y1, 10), x2: r(d.box.x2, 10), y2: r(d.box.y2, 10) },
  };
}

/** The job's error text after a task's last attempt failed: one sentence a user can read. */
export function failureReason(name: TaskName, payload: { chunkIndex?: number }, error: Error): string {
  const msg = error.message.replace(/\s+/g, ' ').trim().replace(/\.?$/, '.');
  if (error instanceof PermanentTaskError) return msg;
  switch (name) {
    case 'process':
      return `The video could not be prepared for analysis: ${msg}`;
    case 'detect':
      return `Analysis failed in chunk ${payload.chunkIndex ?? '?'}: ${msg}`;
    case 'finalize':
      return `The results could not be summarised: ${msg}`;
    default:
      return msg;
  }
}
