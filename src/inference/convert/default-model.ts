/**
 * The bundled default model: MB3-CenterNet from @vladmandic/human (TF.js graph, MIT), converted
 * to ONNX once and cached. The cache is keyed by a hash of the source files and the converter
 * version, so upgrading either re-converts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DEFAULT_MODEL } from '../../api/schemas.js';
import { COCO_LABELS } from '../coco-labels.js';
import type { ModelInfo } from '../types.js';
import { parseTfjsGraph, type TfjsModelJson } from './tfjs-graph.js';
import { type ConvertResult, convertTfjsToOnnx } from './tfjs-to-onnx.js';

/** Bump when the converter's output changes, to invalidate caches. */
export const CONVERTER_VERSION = '2';
export const DEFAULT_MODEL_NAME = DEFAULT_MODEL;
export const DEFAULT_MODEL_FILE = 'centernet.onnx';
/** We cut the TF graph before its integer decoder; decoders/centernet.ts reproduces it. */
export const CENTERNET_OUTPUTS = ['tower_0/keypoints', 'tower_0/wh'];

export const CENTERNET_INFO: ModelInfo = {
  name: DEFAULT_MODEL_NAME,
  labels: [...COCO_LABELS],
  input: {
    width: 512,
    height: 512,
    layout: 'NHWC',
    channels: 'RGB',
    scale: 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    resize: 'stretch',
  },
  decoder: 'centernet',
  source: 'bundled',
};

/** Path of centernet.json inside the installed @vladmandic/human package. */
export function centernetSourcePath(): string {
  const require = createRequire(import.meta.url);
  // The package's exports hide package.json; its main file is in dist/, models/ is beside it.
  const main = require.resolve('@vladmandic/human');
  return join(dirname(dirname(main)), 'models', 'centernet.json');
}

async function readSource(
  jsonPath: string,
): Promise<{ json: TfjsModelJson; weights: Uint8Array; hash: string }> {
  const text = await readFile(jsonPath);
  const json = JSON.parse(text.toString('utf8')) as TfjsModelJson;
  const shards = await Promise.all(
    json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dirname(jsonPath), p))),
  );
  const weights = new Uint8Array(Buffer.concat(shards));
  const hash = createHash('sha256')
    .update(`converter:${CONVERTER_VERSION}\n`)
    .update(text)
    .update(weights)
    .digest('hex');
  return { json, weights, hash };
}

/** Converts the CenterNet graph in memory (also used by the benchmark for its FLOP count). */
export async function convertCenternet(
  jsonPath = centernetSourcePath(),
): Promise<ConvertResult & { hash: string }> {
  const { json, weights, hash } = await readSource(jsonPath);
  const result = convertTfjsToOnnx(parseTfjsGraph(json, weights), {
    outputs: CENTERNET_OUTPUTS,
    producer: `web-detector tfjs-to-onnx v${CONVERTER_VERSION}`,
  });
  return { ...result, hash };
}

export async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Makes sure `<cacheDir>/centernet.onnx` exists and matches the installed source model; converts
 * it (atomically: temp file + rename, then the `.source.json` sidecar with the hash) if missing or
 * stale. Returns its path.
 */
export async function ensureDefaultModel(
  cacheDir: string,
  opts: { sourceJson?: string } = {},
): Promise<string> {
  const jsonPath = opts.sourceJson ?? centernetSourcePath();
  const out = join(cacheDir, DEFAULT_MODEL_FILE);
  const sidecar = `${out}.source.json`;
  const { hash } = await readSource(jsonPath);
  if (existsSync(out) && existsSync(sidecar)) {
    try {
      const meta = JSON.parse(await readFile(sidecar, 'utf8')) as { sha256?: string };
      if (meta.sha256 === hash) return out;
    } catch {
      // unreadable sidecar: convert again
    }
  }
  await mkdir(cacheDir, { recursive: true });
  const result = await convertCenternet(jsonPath);
  await writeAtomic(out, result.onnx);
  await writeAtomic(
    sidecar,
    `${JSON.stringify({ sha256: result.hash, source: jsonPath, converter: CONVERTER_VERSION, flops: result.flops }, null, 2)}\n`,
  );
  return out;
}
