/** ONNX Runtime sessions: creation per device, and running one input tensor. */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { cudaSessionError, cudaSessionOptions } from './cuda.js';
import type { OutputTensor, TensorData } from './decoders/common.js';
import type { Device } from './device.js';

export interface SessionConfig {
  device: Device;
  /** intra-op threads for CPU sessions (default: number of CPU cores) */
  intraOpThreads?: number;
  /**
   * Let idle intra-op threads busy-wait for work (ORT's default). Off by default here: on a CPU
   * shared with ffmpeg and other jobs, spinning threads steal the cores the others need and ORT
   * itself gets slower (measured with bench/inference.ts on a loaded 2-core machine).
   */
  allowSpinning?: boolean;
}

export async function createSession(
  model: string | Uint8Array,
  cfg: SessionConfig,
): Promise<ort.InferenceSession> {
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: cfg.intraOpThreads ?? availableParallelism(),
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    extra: { session: { intra_op: { allow_spinning: cfg.allowSpinning ? '1' : '0' } } },
  };
  if (cfg.device.kind === 'cpu') {
    return typeof model === 'string'
      ? ort.InferenceSession.create(model, base)
      : ort.InferenceSession.create(model, base);
  }
  const opts = { ...base, ...cudaSessionOptions(cfg.device.id) };
  try {
    return typeof model === 'string'
      ? await ort.InferenceSession.create(model, opts)
      : await ort.InferenceSession.create(model, opts);
  } catch (err) {
    throw cudaSessionError(cfg.device.id, err);
  }
}

/** The batch size the model's first input accepts: 'dynamic', or the fixed number. */
export function inputBatch(session: ort.InferenceSession): 'dynamic' | number {
  const meta = session.inputMetadata?.[0];
  if (!meta || !('shape' in meta)) return 1;
  const d = meta.shape[0];
  return typeof d === 'number' && d > 0 ? d : 'dynamic';
}

export async function runSession(
  session: ort.InferenceSession,
  data: Float32Array,
  dims: readonly number[],
): Promise<OutputTensor[]> {
  const input = new ort.Tensor('float32', data, dims);
  const res = await session.run({ [session.inputNames[0]]: input });
  return session.outputNames.map((name) => {
    const t = res[name];
    return { name, dims: t.dims, data: t.data as TensorData };
  });
}
