/**
 * TensorFlow.js as the reference runtime for the converted model (tests and bench only; the
 * service never loads TF.js). Uses the WebAssembly backend, loading its .wasm files from
 * node_modules by file path (no network), or the pure-JS cpu backend if asked.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export { tf };

export async function initTfjs(backend: 'wasm' | 'cpu' = 'wasm', threads?: number): Promise<string> {
  if (backend === 'wasm') {
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(`${dist}/`);
    if (threads) setThreadsCount(threads);
  }
  await tf.setBackend(backend);
  await tf.ready();
  return tf.getBackend();
}

/** Loads a TF.js graph model from disk with an in-memory IOHandler (tfjs's file:// needs tfjs-node). */
export async function loadGraphModelFromFile(jsonPath: string): Promise<tf.GraphModel> {
  const json = JSON.parse(await readFile(jsonPath, 'utf8'));
  const shards = await Promise.all(
    (json.weightsManifest as { paths: string[] }[])
      .flatMap((g) => g.paths)
      .map((p) => readFile(join(dirname(jsonPath), p))),
  );
  const bytes = Buffer.concat(shards);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature,
      weightSpecs: (json.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[]).flatMap(
        (g) => g.weights,
      ),
      weightData,
    }),
  };
  return tf.loadGraphModel(handler);
}

/** Runs the model on one NHWC float image; returns the named outputs as flat arrays. */
export async function runTfjs(
  model: tf.GraphModel,
  input: Float32Array,
  shape: number[],
  outputs: string[],
): Promise<Float32Array[]> {
  const x = tf.tensor(input, shape, 'float32');
  try {
    // execute (not executeAsync): the graph has no control flow, and it avoids a console warning.
    const res = model.execute(x, outputs) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(res) ? res : [res];
    const arrays = await Promise.all(list.map(async (t) => new Float32Array(await t.data())));
    for (const t of list) t.dispose();
    return arrays;
  } finally {
    x.dispose();
  }
}
