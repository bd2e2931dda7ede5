/**
 * The ONNX Runtime detector: RGB24 frames at model size in, detections in original pixels out.
 * One session per device; batches go to the devices round-robin.
 */
import { DECODERS, decoderSupportsBatch } from './decoders/index.js';
import { parseDevice } from './device.js';
import { loadModelManifest } from './manifest.js';
import { createDetectorSession, type DetectorSession, inputBatch, inputElementType } from './onnx-session.js';
import { DEFAULT_MIN_SCORE, postprocess } from './postprocess.js';
import { framesToTensor, framesToUint8Tensor } from './preprocess.js';
import type { Detection, DetectOptions, Detector, FrameSize, ModelInfo } from './types.js';

export interface OnnxDetectorOptions {
  /** 'cpu' (default), 'cuda', 'cuda:N' or 'cuda:N,M' */
  device?: string;
  /** intra-op threads per CPU session (default: number of cores) */
  intraOpThreads?: number;
  /** frames per ONNX run when the batch is dynamic (default 8) */
  maxBatch?: number;
}

export type DetectorSource = string | { model: ModelInfo; onnxPath: string | Uint8Array };

export async function createOnnxDetector(
  source: DetectorSource,
  opts: OnnxDetectorOptions = {},
): Promise<Detector> {
  const { model, onnxPath } =
    typeof source === 'string'
      ? await loadModelManifest(source).then((m) => ({ model: m.info, onnxPath: m.onnxPath }))
      : source;
  const devices = parseDevice(opts.device);
  const sessions: DetectorSession[] = [];
  try {
    for (const device of devices)
      sessions.push(await createDetectorSession(onnxPath, { device, intraOpThreads: opts.intraOpThreads }));
  } catch (err) {
    await Promise.all(sessions.map((s) => s.release()));
    throw err;
  }
  const fixed = inputBatch(sessions[0]);
  // How many frames go into one run; a fixed-batch model gets padded chunks of exactly that size.
  const runSize =
    fixed === 'dynamic' && decoderSupportsBatch(model.decoder)
      ? Math.max(1, opts.maxBatch ?? 8)
      : fixed === 'dynamic'
        ? 1
        : fixed;
  const decode = DECODERS[model.decoder];
  const toTensor = inputElementType(sessions[0]) === 'uint8' ? framesToUint8Tensor : framesToTensor;
  let next = 0;
  let closed = false;

  async function runChunk(
    session: DetectorSession,
    frames: Uint8Array[],
    original: FrameSize,
    options: DetectOptions,
  ) {
    const padded =
      fixed === 'dynamic'
        ? frames
        : [...frames, ...Array(runSize - frames.length).fill(frames[frames.length - 1])];
    const tensor = toTensor(padded, model.input);
    const outputs = await session.run(tensor.data, tensor.dims);
    const raw = decode(outputs, {
      input: model.input,
      numClasses: model.labels.length,
      batch: padded.length,
      minScore: options.minScore ?? DEFAULT_MIN_SCORE,
    });
    return raw
      .slice(0, frames.length)
      .map((r) => postprocess(r, { labels: model.labels, input: model.input, original }, options));
  }

  return {
    model,
    async detect(
      frames: Uint8Array[],
      original: FrameSize,
      options: DetectOptions = {},
    ): Promise<Detection[][]> {
      if (closed) throw new Error(`The detector for model ${model.name} is closed.`);
      const chunks: Uint8Array[][] = [];
      for (let i = 0; i < frames.length; i += runSize) chunks.push(frames.slice(i, i + runSize));
      // Each session runs its chunks one after another (a CPU session already uses every core);
      // different sessions (GPUs) run in parallel.
      const perSession = new Map<number, number[]>();
      chunks.forEach((_, i) => {
        const s = next++ % sessions.length;
        perSession.set(s, [...(perSession.get(s) ?? []), i]);
      });
      const results: Detection[][][] = new Array(chunks.length);
      await Promise.all(
        [...perSession].map(async ([s, ids]) => {
          for (const i of ids) results[i] = await runChunk(sessions[s], chunks[i], original, options);
        }),
      );
      return results.flat();
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(sessions.map((s) => s.release()));
    },
  };
}
