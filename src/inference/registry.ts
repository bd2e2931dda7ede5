/**
 * The model registry: the bundled CenterNet and its variants (centernet-int8 on every device,
 * centernet-fp16 where the device is a GPU) plus every folder with a model.json under MODELS_DIR.
 * Model files and detectors are made on first use and cached per model.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CENTERNET_INFO, DEFAULT_MODEL_NAME, ensureDefaultModel } from './convert/default-model.js';
import { CENTERNET_FP16_INFO, ensureFp16Model } from './convert/variants.js';
import { createOnnxDetector } from './detector.js';
import { parseDevice } from './device.js';
import { loadModelManifest, MANIFEST_FILE } from './manifest.js';
import { CENTERNET_INT8_INFO, ensureInt8Model } from './quantize/centernet-int8.js';
import type { Detector, ModelInfo } from './types.js';

export interface ModelRegistryOptions {
  /** folder of model folders, each with a model.json (optional) */
  modelsDir?: string;
  /** where the converted default model is cached (e.g. models/cache) */
  cacheDir: string;
  /** 'cpu' | 'cuda' | 'cuda:N[,M]' */
  device?: string;
  intraOpThreads?: number;
  maxBatch?: number;
}

export interface ModelRegistry {
  readonly defaultModel: string;
  list(): ModelInfo[];
  /** The detector for `name` (default: the bundled centernet); throws UnknownModelError. */
  get(name?: string): Promise<Detector>;
  close(): Promise<void>;
}

export class UnknownModelError extends Error {
  override name = 'UnknownModelError';
  constructor(readonly model: string) {
    super(`There is no model named ${model}.`);
  }
}

/** Scans MODELS_DIR (manifests are validated now, so a bad one stops start-up with its reason). */
export async function createModelRegistry(opts: ModelRegistryOptions): Promise<ModelRegistry> {
  const entries = new Map<string, { info: ModelInfo; onnxPath?: string; make?: () => Promise<string> }>();
  const cache = opts.cacheDir;
  entries.set(DEFAULT_MODEL_NAME, { info: CENTERNET_INFO, make: () => ensureDefaultModel(cache) });
  entries.set(CENTERNET_INT8_INFO.name, { info: CENTERNET_INT8_INFO, make: () => ensureInt8Model(cache) });
  // fp16 only pays on GPUs (ONNX Runtime's CPU provider runs it through casts, several times slower)
  if (parseDevice(opts.device).some((d) => d.kind === 'cuda'))
    entries.set(CENTERNET_FP16_INFO.name, { info: CENTERNET_FP16_INFO, make: () => ensureFp16Model(cache) });
  if (opts.modelsDir && existsSync(opts.modelsDir)) {
    const dirs = (await readdir(opts.modelsDir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    for (const d of dirs) {
      const dir = join(opts.modelsDir, d);
      if (!existsSync(join(dir, MANIFEST_FILE))) continue;
      const m = await loadModelManifest(dir, d);
      if (entries.has(m.info.name))
        throw new Error(`${join(dir, MANIFEST_FILE)}: model name ${m.info.name} is already taken.`);
      entries.set(m.info.name, m);
    }
  }
  const detectors = new Map<string, Promise<Detector>>();
  const detectorOpts = { device: opts.device, intraOpThreads: opts.intraOpThreads, maxBatch: opts.maxBatch };

  return {
    defaultModel: DEFAULT_MODEL_NAME,
    list: () => [...entries.values()].map((e) => e.info),
    get(name = DEFAULT_MODEL_NAME) {
      const entry = entries.get(name);
      if (!entry) return Promise.reject(new UnknownModelError(name));
      let p = detectors.get(name);
      if (!p) {
        p = (async () => {
          const onnxPath = entry.onnxPath ?? (await (entry.make as () => Promise<string>)());
          return createOnnxDetector({ model: entry.info, onnxPath }, detectorOpts);
        })();
        // A failed load is not cached: the next call tries again.
        p.catch(() => detectors.delete(name));
        detectors.set(name, p);
      }
      return p;
    },
    async close() {
      const all = [...detectors.values()];
      detectors.clear();
      await Promise.all(all.map((p) => p.then((d) => d.close()).catch(() => undefined)));
    },
  };
}
