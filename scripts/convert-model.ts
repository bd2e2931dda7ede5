/**
 * Converts the bundled MB3-CenterNet (TF.js graph in @vladmandic/human) to ONNX, once.
 * Usage: node --import tsx scripts/convert-model.ts [outDir]     (default: models/cache)
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDefaultModel } from '../src/inference/convert/default-model.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = resolve(process.argv[2] ?? resolve(root, 'models/cache'));
const started = Date.now();
try {
  const path = await ensureDefaultModel(outDir);
  console.log(`default model ready: ${path} (${Date.now() - started} ms)`);
} catch (err) {
  console.error(`Converting the default model failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
