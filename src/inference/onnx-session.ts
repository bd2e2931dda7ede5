/** ONNX Runtime sessions: creation per device, and running one input tensor. */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
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

function cpuSessionOptions(cfg: SessionConfig): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: cfg.intraOpThreads ?? availableParallelism(),
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    extra: { session: { intra_op: { allow_spinning: cfg.allowSpinning ? '1' : '0' } } },
  };
}

export async function createSession(
  model: string | Uint8Array,
  cfg: SessionConfig,
): Promise<ort.InferenceSession> {
  const base = cpuSessionOptions(cfg);
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

/**
 * The element type of the model's first input: 'uint8' for models that take RGB24 bytes as they
 * are (the int8 default model), else 'float32'.
 */
export function inputElementType(session: Pick<ort.InferenceSession, 'inputMetadata'>): 'uint8' | 'float32' {
  const meta = session.inputMetadata?.[0];
  return meta && 'type' in meta && meta.type === 'uint8' ? 'uint8' : 'float32';
}

/** The batch size the model's first input accepts: 'dynamic', or the fixed number. */
export function inputBatch(session: Pick<ort.InferenceSession, 'inputMetadata'>): 'dynamic' | number {
  const meta = session.inputMetadata?.[0];
  if (!meta || !('shape' in meta)) return 1;
  const d = meta.shape[0];
  return typeof d === 'number' && d > 0 ? d : 'dynamic';
}

/** Input tensor data: float32, or uint8 for models with a uint8 input. */
export type InputData = Float32Array | Uint8Array;

export async function runSession(
  session: ort.InferenceSession,
  data: InputData,
  dims: readonly number[],
): Promise<OutputTensor[]> {
  const input =
    data instanceof Uint8Array ? new ort.Tensor('uint8', data, dims) : new ort.Tensor('float32', data, dims);
  const res = await session.run({ [session.inputNames[0]]: input });
  return session.outputNames.map((name) => {
    const t = res[name];
    return { name, dims: t.dims, data: t.data as TensorData };
  });
}

/** A session that runs one input tensor at a time; what the detector uses. */
export interface DetectorSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: ort.InferenceSession['inputMetadata'];
  run(data: InputData, dims: readonly number[]): Promise<OutputTensor[]>;
  release(): Promise<void>;
}

/**
 * A session for the detector, in a worker thread: onnxruntime-node's run() is synchronous on the
 * calling thread, so in the main thread it would stop the event loop for the whole inference
 * (about 150 ms a batch on 2 cores; on a GPU, the copies and the wait for the kernels): no ffmpeg
 * output read, no database write, no HTTP request served meanwhile. In the worker the main thread
 * does all that while the model runs. A CUDA session's failure to open keeps the install hint.
 */
export async function createDetectorSession(
  model: string | Uint8Array,
  cfg: SessionConfig,
): Promise<DetectorSession> {
  if (cfg.device.kind === 'cpu') return createWorkerSession(model, cpuSessionOptions(cfg));
  const id = cfg.device.id;
  const options = { ...cpuSessionOptions(cfg), ...cudaSessionOptions(id) };
  return createWorkerSession(model, options).catch((err: unknown) => {
    throw cudaSessionError(id, err);
  });
}

// The worker: plain CommonJS (eval), so it runs the same from src (tsx) and from dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
const plain = (e) => ({ message: String((e && e.message) || e), name: (e && e.name) || 'Error' });
(async () => {
  let session;
  try {
    session = await ort.InferenceSession.create(workerData.model, workerData.options);
  } catch (e) {
    parentPort.postMessage({ type: 'failed', error: plain(e) });
    return;
  }
  parentPort.postMessage({
    type: 'ready',
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: session.inputMetadata,
  });
  parentPort.on('message', async (m) => {
    if (m.type === 'release') {
      try { await session.release(); } catch {}
      parentPort.postMessage({ type: 'released' });
      return;
    }
    try {
      const type = m.data instanceof Uint8Array ? 'uint8' : 'float32';
      const res = await session.run({ [session.inputNames[0]]: new ort.Tensor(type, m.data, m.dims) });
      const outputs = session.outputNames.map((name) => ({ name, dims: res[name].dims, data: res[name].data }));
      const buffers = [...new Set(outputs.map((o) => o.data.buffer))];
      try {
        parentPort.postMessage({ type: 'result', id: m.id, outputs }, buffers);
      } catch {
        parentPort.postMessage({ type: 'result', id: m.id, outputs });
      }
    } catch (e) {
      parentPort.postMessage({ type: 'result', id: m.id, error: plain(e) });
    }
  });
})();
`;

async function createWorkerSession(
  model: string | Uint8Array,
  options: ort.InferenceSession.SessionOptions,
): Promise<DetectorSession> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { ort: ortPath, model, options },
    stdout: false,
    stderr: false,
  });
  type Reply = { resolve(o: OutputTensor[]): void; reject(e: Error): void };
  const pending = new Map<number, Reply>();
  let nextId = 0;
  let dead: Error | null = null;
  let onReleased: (() => void) | null = null;
  const fail = (e: Error) => {
    dead ??= e;
    for (const r of pending.values()) r.reject(e);
    pending.clear();
    onReleased?.();
  };
  const toError = (e: { message: string; name: string }) =>
    Object.assign(new Error(e.message), { name: e.name });
  // idle, the worker does not keep the process alive; a run in flight does
  worker.unref();
  const ready = new Promise<{
    inputNames: string[];
    outputNames: string[];
    inputMetadata: ort.InferenceSession['inputMetadata'];
  }>((resolve, reject) => {
    worker.on('message', (m) => {
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'failed') reject(toError(m.error));
      else if (m.type === 'released') onReleased?.();
      else if (m.type === 'result') {
        const r = pending.get(m.id);
        if (!r) return;
        pending.delete(m.id);
        if (pending.size === 0) worker.unref();
        if (m.error) r.reject(toError(m.error));
        else r.resolve(m.outputs);
      }
    });
    worker.on('error', (e) => {
      reject(e);
      fail(e);
    });
    worker.on('exit', (code) => {
      const e = new Error(`The ONNX Runtime worker thread stopped (exit code ${code}).`);
      reject(e);
      fail(e);
    });
  });
  let meta: Awaited<typeof ready>;
  try {
    worker.ref(); // loading the model
    meta = await ready;
    worker.unref();
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return {
    inputNames: meta.inputNames,
    outputNames: meta.outputNames,
    inputMetadata: meta.inputMetadata,
    run(data, dims) {
      if (dead) return Promise.reject(dead);
      return new Promise<OutputTensor[]>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.ref();
        // the tensor's memory moves to the worker when it is the whole buffer (no copy)
        const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
        worker.postMessage(
          { type: 'run', id, data, dims: [...dims] },
          whole ? [data.buffer as ArrayBuffer] : [],
        );
      });
    },
    async release() {
      if (dead) return;
      const released = new Promise<void>((r) => {
        onReleased = r;
      });
      worker.ref();
      worker.postMessage({ type: 'release' });
      await released;
      fail(new Error('The ONNX Runtime session is released.'));
      await worker.terminate();
    },
  };
}
