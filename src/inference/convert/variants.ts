/**
 * Model files derived from the converted fp32 default model, cached beside it: the fp16 variant
 * (GPUs) here, the int8 variant in ../quantize/centernet-int8.ts. Each is keyed by a hash of the
 * fp32 model and its own version, so a new converter or source model rebuilds it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeGraph, encodeModel } from '../onnx/proto.js';
import type { ModelInfo } from '../types.js';
import { CENTERNET_INFO, ensureDefaultModel, writeAtomic } from './default-model.js';
import { FP16_MODEL_FILE, FP16_MODEL_NAME, FP16_VERSION, toFloat16Graph } from './fp16.js';

export const CENTERNET_FP16_INFO: ModelInfo = { ...CENTERNET_INFO, name: FP16_MODEL_NAME };

/** The fp16 model's bytes from the fp32 model's (uint8 input: the RGB24 bytes as they are). */
export function buildFp16Model(fp32: Uint8Array): Uint8Array {
  const { graph, opset } = decodeGraph(fp32);
  return encodeModel(toFloat16Graph(graph, { uint8Input: true }), {
    opset,
    producer: `web-detector fp16 v${FP16_VERSION}`,
  });
}

/**
 * `<cacheDir>/<file>` built by `build` from the fp32 default model, unless a sidecar says it was
 * built from the same fp32 bytes with the same `version` (then it is reused).
 */
export async function ensureDerivedModel(
  cacheDir: string,
  file: string,
  version: string,
  build: (fp32: Uint8Array) => Uint8Array | Promise<Uint8Array>,
): Promise<string> {
  const fp32 = await readFile(await ensureDefaultModel(cacheDir));
  const hash = createHash('sha256').update(fp32).update(`\n${file}:${version}`).digest('hex');
  const out = join(cacheDir, file);
  const sidecar = `${out}.source.json`;
  if (existsSync(out) && existsSync(sidecar)) {
    try {
      if ((JSON.parse(await readFile(sidecar, 'utf8')) as { sha256?: string }).sha256 === hash) return out;
    } catch {
      // unreadable sidecar: build again
    }
  }
  await writeAtomic(out, await build(fp32));
  await writeAtomic(sidecar, `${JSON.stringify({ sha256: hash, version }, null, 2)}\n`);
  return out;
}

export function ensureFp16Model(cacheDir: string): Promise<string> {
  return ensureDerivedModel(cacheDir, FP16_MODEL_FILE, FP16_VERSION, buildFp16Model);
}
