import type { ChunkRecord, ChunksRepository } from '../db/repositories/chunks.js';
import type { FrameRecord, FramesRepository } from '../db/repositories/frames.js';
import type { JobRecord, JobsRepository } from '../db/repositories/jobs.js';
import { toStoredDetection } from '../inference/postprocess.js';
import type { Detector } from '../inference/types.js';
import type { MediaBinaries } from '../media/binaries.js';
import { chunkDecodeArgs } from '../media/decode-args.js';
import { decodeChunkFrames } from '../media/frames.js';
import { displaySize } from '../media/orientation.js';
import { ffmpegScaleFilter } from '../media/scale.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import type { BlobStore } from '../storage/local.js';
import { detectionMinScore } from './tasks/track.js';

/**
 * One chunk's analysis: ffmpeg decodes the chunk's sampled frames scaled to the model input, the
 * detector runs them in batches, and the results are written to the frames table.
 *
 * Three things overlap: the detector (its own thread: see createDetectorSession) runs batch k
 * while this loop reads batch k+1 from ffmpeg (which decodes ahead in its own process: see
 * decodeChunkFrames) and while batch k-1's results are written. Writes are grouped (at most one
 * a second, and at the end) because PGlite runs on this thread too.
 */

export interface ChunkAnalysisDeps {
  jobs: Pick<JobsRepository, 'status' | 'refreshProgress'>;
  chunks: Pick<ChunksRepository, 'setFramesDone'>;
  frames: Pick<FramesRepository, 'upsert'>;
  media: MediaBinaries;
  /** where the stored videos are (ffmpeg reads them by path) */
  storage: Pick<BlobStore, 'path'>;
  settings: ChunkAnalysisSettings;
  /** times the waits for decoded frames (decode_seconds), when metrics are on */
  metrics?: Pick<PipelineMetrics, 'timeDecode'>;
}

export interface ChunkAnalysisSettings {
  /** frames per detector batch */
  batchSize: number;
  /** ffmpeg decoder threads per chunk (default 1) */
  decodeThreads?: number;
  /** frames ffmpeg may decode ahead of the detector (decodeChunkFrames' default when unset) */
  decodeReadAhead?: number;
  /** a chunk's results are written at most this often (ms), and at its end (default 1000) */
  writeEveryMs?: number;
}

/** Analyses the chunk; false if the job was canceled or deleted meanwhile (nothing more is written). */
export async function analyseChunk(
  deps: ChunkAnalysisDeps,
  detector: Detector,
  job: JobRecord,
  chunk: ChunkRecord,
  signal: AbortSignal,
): Promise<boolean> {
  const { settings } = deps;
  const { indices, timestamps } = chunk.sample;
  const save = async (records: FrameRecord[], framesDone: number) => {
    await deps.frames.upsert(job.id, records);
    await deps.chunks.setFramesDone(job.id, chunk.chunkIndex, framesDone);
    await deps.jobs.refreshProgress(job.id);
  };
  if (indices.length === 0) {
    await save([], 0);
    return true;
  }
  const { width: inW, height: inH } = detector.model.input;
  // frames come out of ffmpeg as displayed (rotation applied), so boxes map to the displayed size
  const original = displaySize(job.probe.video);
  const args = chunkDecodeArgs({
    file: deps.storage.path(job.videoKey),
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
  signal.addEventListener('abort', onAbort, { once: true });
  // weak detections too (down to the tracker's low score): they keep tracks alive, and the track
  // step drops them from the frames once it has used them
  const detectOpts = {
    minScore: detectionMinScore(job.options.minScore),
    labels: job.options.labels ?? undefined,
  };

  let done = 0; // frames written so far
  let queued = 0; // frames handed to the detector so far
  let batch: Uint8Array[] = [];
  let detecting: Promise<unknown> = Promise.resolve();
  let tail: Promise<boolean> = Promise.resolve(true);
  let unwritten: FrameRecord[] = [];
  let lastWrite = performance.now();
  const writeEveryMs = settings.writeEveryMs ?? 1000;
  let flushedLast = false;

  /** Hands the batch to the detector; its results are written after the previous batch's. */
  const flush = async (last: boolean): Promise<boolean> => {
    flushedLast = last;
    const frames = batch;
    const offset = queued;
    batch = [];
    queued += frames.length;
    await detecting; // one batch in the detector at a time (a CPU session uses every core)
    const detected = frames.length > 0 ? detector.detect(frames, original, detectOpts) : Promise.resolve([]);
    detecting = detected.catch(() => undefined);
    const previous = tail;
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
      if ((await deps.jobs.status(job.id)) !== 'processing') return false;
      const records = unwritten;
      unwritten = [];
      await save(records, done + records.length);
      done += records.length;
      lastWrite = performance.now();
      return true;
    })();
    tail.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled
    return previous;
  };

  try {
    try {
      const decoded = decodeChunkFrames(deps.media.ffmpeg, args, inW * inH * 3, {
        expectedFrames: indices.length,
        signal: abort.signal,
        readAhead: settings.decodeReadAhead,
      });
      for await (const frame of deps.metrics ? deps.metrics.timeDecode(decoded) : decoded) {
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
    signal.removeEventListener('abort', onAbort);
  }
  if (done !== indices.length) {
    throw new Error(`chunk ${chunk.chunkIndex} yielded ${done} frames instead of ${indices.length}`);
  }
  return true;
}
