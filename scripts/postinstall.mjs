#!/usr/bin/env node
// Runs after `npm install` in this repository: compiles the TypeScript to dist/, converts the
// bundled MB3-CenterNet TF.js graph to ONNX (cached in models/cache, redone only when the source
// or the converter changes), and bundles the web UI into web/dist. Nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Installed as somebody else's dependency (no tsconfig shipped beside us): nothing to build.
if (!existsSync(join(root, 'tsconfig.build.json'))) process.exit(0);

function step(name, args) {
  const started = Date.now();
  const res = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) {
    console.error(`web-detector postinstall: ${name} failed (exit ${res.status}).`);
    process.exit(res.status ?? 1);
  }
  console.log(`web-detector postinstall: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

step('TypeScript build', [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
step('default model conversion', [
  '--import',
  'tsx',
  join(root, 'scripts/convert-model.ts'),
  join(root, 'models/cache'),
]);
if (existsSync(join(root, 'scripts/build-web.mjs')))
  step('web UI build', [join(root, 'scripts/build-web.mjs')]);
