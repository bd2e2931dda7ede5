import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { toStoredDetection } from '../../src/inference/postprocess.js';
import type { Detector } from '../../src/inference/types.js';
import { ffmpegScaleFilter } from '../../src/media/scale.js';
import type { TrackInputFrame } from '../../src/tracking/tracker.js';
import { makerFfmpeg } from '../../test/helpers/maker.js';
import { decodeChunkFrames, engineScan } from '../common/cli-frames.js';
import { rawFramesArgs } from '../common/video.js';

export type StoredDetection = ReturnType<typeof toStoredDetection>;
export type DetectedFrame = TrackInputFrame<StoredDetection>;

/**
 * Every frame of a video through the detector, as the pipeline does it (ffmpeg scales to the
 * model's input in C; boxes come back in the video's pixels, rounded as stored), with a low score
 * floor so that every higher threshold can be studied from one run. Cached as JSON next to the
 * rendered videos: the detector is the slow part.
 */
export async function detectVideo(
  detector: Detector,
  file: string,
  floor: number,
  cacheDir: string,
): Promise<{ frames: DetectedFrame[]; seconds: number; cached: boolean }> {
  mkdirSync(cacheDir, { recursive: true });
  const st = statSync(file);
  const cache = join(
    cacheDir,
    `det-${basename(file)}-${st.size}-${Math.round(st.mtimeMs)}-${detector.model.name}-${floor}.json`,
  );
  if (existsSync(cache)) return { ...JSON.parse(readFileSync(cache, 'utf8')), cached: true };
  const ffmpeg = makerFfmpeg();
  const { probe, scan } = await engineScan(file);
  const { width, height } = detector.model.input;
  const original = { width: probe.video.width, height: probe.video.height };
  const args = rawFramesArgs(file, ffmpegScaleFilter(detector.model.input));

  const frames: DetectedFrame[] = [];
  const t0 = performance.now();
  let batch: Uint8Array[] = [];
  const flush = async () => {
    const results = await detector.detect(batch, original, { minScore: floor });
    for (const r of results) {
      const i = frames.length;
      frames.push({
        frameIndex: i,
        timestamp: scan.timestamps[i] ?? i / probe.video.fps,
        detections: r.map(toStoredDetection),
      });
    }
    batch = [];
  };
  for await (const f of decodeChunkFrames(ffmpeg, args, width * height * 3)) {
    batch.push(f);
    if (batch.length === 4) await flush();
  }
  if (batch.length > 0) await flush();
  const seconds = (performance.now() - t0) / 1000;
  writeFileSync(cache, JSON.stringify({ frames, seconds }));
  return { frames, seconds, cached: false };
}
