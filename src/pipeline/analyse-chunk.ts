import type { ChunkRecord, ChunksRepository } from '../db/repositories/chunks.js';
import type { FrameRecord, FramesRepository } from '../db/repositories/frames.js';
import type { JobRecord, JobsRepository } from '../db/repositories/jobs.js';
import { toStoredDetection } from '../inference/postprocess.js';
import type { Detector } from '../inference/types.js';
import { FRAME_TOO_LARGE, pinnedName } from '../media/av/protocol.js';
import { chunkDecodeRequest } from '../media/decode-plan.js';
import { type DecodedFrame, DecodeError, decodeChunkFrames } from '../media/frames.js';
import { displaySize } from '../media/orientation.js';
import type { MediaSettings } from '../media/settings.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import type { BlobStore } from '../storage/local.js';
import { PermanentTaskError } from './failures.js';
import { detectionMinScore } from './tasks/track.js';

/**
 * One chunk's analysis: the media tool (FFmpeg libraries in a child process) decodes the chunk's sampled frames scaled to the model input, the
 * detector runs them in batches, and the results are written to the frames table.
 *
 * Three things overlap: the detector (its own thread: see createDetectorSession) runs batch k
 * while this loop reads batch k+1 from ffmpeg (which decodes ahead in its own process: see
 * decodeChunkFrames) and while batch k-1's results are written. Writes are grouped (at most one
 * a second, and at the end) because PGlite runs on this thread too.
 */

export interface ChunkAnalysisDeps {
  jobs: Pick<JobsRepository, 'status' | 'refreshProgress'>;
  chunks: Pick<ChunksRepository, 'setFramesDone' | 'setSkipped'>;
  frames: Pick<FramesRepository, 'upsert'>;
  media: MediaSettings;
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

/**
 * Analyses the chunk; false if the job was canceled or deleted meanwhile (nothing more is written).
 *
 * Frames are matched to the plan by pts (the tool says which planned frame each one is), so a
 * frame that does not decode leaves a gap, never a shift. Planned frames that never come out are
 * recorded as skipped with a sentence (chunks.setSkipped), not fatal. When the decoder fails or
 * crashes mid-chunk, the chunk is retried like any failed task (what was written stays: writes are
 * keyed by frame); on its LAST attempt (`lastAttempt`) what decoded is kept and the rest of the
 * chunk is recorded as skipped with the failure's sentence, so one bad stretch of a file does not
 * fail the job (the job fails only when no frame at all could be analysed: see finalize).
 */
export async function analyseChunk(
  deps: ChunkAnalysisDeps,
  detector: Detector,
  job: JobRecord,
  chunk: ChunkRecord,
  signal: AbortSignal,
  opts: { lastAttempt?: boolean } = {},
): Promise<boolean> {
  const { settings } = deps;
  const { indices, timestamps } = chunk.sample;
  const save = async (records: FrameRecord[], framesDone: number) => {
    await deps.frames.upsert(job.id, records);
    await deps.chunks.setFramesDone(job.id, chunk.chunkIndex, framesDone);
    await deps.jobs.refreshProgress(job.id);
  };
  if (indices.length === 0) {
    await deps.chunks.setSkipped(job.id, chunk.chunkIndex, 0, null);
    await save([], 0);
    return true;
  }
  // frames come out of the decoder as displayed (rotation applied), so boxes map to the displayed size
  const original = displaySize(job.probe.video);
  const request = chunkDecodeRequest({
    file: deps.storage.path(job.videoKey),
    format: job.probe.pinnedFormat ?? pinnedName(job.probe.formatName),
    timeBase: job.probe.video.timeBase,
    startFrame: chunk.startFrame,
    startSec: chunk.startSec,
    sample: chunk.sample,
    target: detector.model.input,
    rotation: job.probe.video.rotation,
    threads: settings.decodeThreads,
    maxPixels: deps.media.limits.maxPixels,
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
  let batch: DecodedFrame[] = [];
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
    batch = [];
    queued += frames.length;
    await detecting; // one batch in the detector at a time (a CPU session uses every core)
    const detected =
      frames.length > 0
        ? detector.detect(
            frames.map((f) => f.rgb),
            original,
            detectOpts,
          )
        : Promise.resolve([]);
    detecting = detected.catch(() => undefined);
    const previous = tail;
    tail = (async () => {
      const results = await detected;
      if (!(await previous)) return false;
      for (let k = 0; k < results.length; k++) {
        const planned = frames[k].index; // which planned frame this is (matched by pts)
        unwritten.push({
          frameIndex: indices[planned],
          timestamp: timestamps[planned],
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

  let failure: DecodeError | null = null;
  try {
    try {
      const decoded = decodeChunkFrames(deps.media, request, {
        signal: abort.signal,
        readAhead: settings.decodeReadAhead,
        timestamps,
      });
      try {
        for await (const frame of deps.metrics ? deps.metrics.timeDecode(decoded) : decoded) {
          batch.push(frame);
          if (batch.length >= settings.batchSize && !(await flush(queued + batch.length >= indices.length))) {
            abort.abort();
            return false;
          }
        }
      } catch (err) {
        // a frame over MAX_VIDEO_PIXELS (the stream changed size in band): the video is refused,
        // as one whose header is over the limit is; nothing over it was analysed
        if (err instanceof DecodeError && err.code === FRAME_TOO_LARGE)
          throw new PermanentTaskError(err.message);
        // a decoder failure: retried like any task, except on the last attempt (see above)
        if (!(err instanceof DecodeError) || !opts.lastAttempt || signal.aborted) throw err;
        failure = err;
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
  const skipped = indices.length - done;
  await deps.chunks.setSkipped(
    job.id,
    chunk.chunkIndex,
    skipped,
    skipped > 0 ? skipReason(failure, skipped, indices.length) : null,
  );
  await deps.jobs.refreshProgress(job.id);
  return true;
}

/** The sentence for a chunk's skipped frames. */
export function skipReason(failure: Error | null, skipped: number, planned: number): string {
  const what = `${skipped} of ${planned} frame${planned === 1 ? '' : 's'} could not be decoded`;
  return failure
    ? `${what}: ${failure.message.replace(/\.$/, '')}.`
    : `${what} (missing or corrupt in the file).`;
}
