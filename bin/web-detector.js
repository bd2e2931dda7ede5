#!/usr/bin/env node
// The command-line entry: runs the compiled dist/main.js (built by `npm run build` / postinstall);
// in a checkout without dist, falls back to running src/main.ts through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let mod;
if (existsSync(dist)) {
  mod = await import(pathToFileURL(dist).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(new URL('../src/main.ts', import.meta.url).href);
}
await mod.main(process.argv.slice(2));
