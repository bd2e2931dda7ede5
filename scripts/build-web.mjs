#!/usr/bin/env node
// Bundles the browser UI: web/src/main.ts + web/src/styles.css + web/index.html -> web/dist/
// (index.html, app.js, app.css). index.html references the bundles with ?v=<content hash>, so they
// can be cached. Run by npm's postinstall; by hand: node scripts/build-web.mjs [--watch] [--dev]
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');
const out = join(web, 'dist');
const dev = process.argv.includes('--dev');
const watch = process.argv.includes('--watch');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('build-web: esbuild is not installed (it comes with tsx); run npm install.');
  process.exit(1);
}

const common = {
  bundle: true,
  minify: !dev,
  sourcemap: dev ? 'inline' : true,
  target: ['chrome100', 'firefox100', 'safari15'],
  logLevel: 'warning',
  legalComments: 'none',
};

async function buildOnce() {
  const t0 = Date.now();
  await mkdir(out, { recursive: true });
  await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: [join(web, 'src/main.ts')],
      outfile: join(out, 'app.js'),
      format: 'esm',
      platform: 'browser',
      tsconfig: join(web, 'tsconfig.json'),
    }),
    esbuild.build({ ...common, entryPoints: [join(web, 'src/styles.css')], outfile: join(out, 'app.css') }),
  ]);
  const hash = async (f) =>
    createHash('sha256')
      .update(await readFile(join(out, f)))
      .digest('hex')
      .slice(0, 12);
  const html = (await readFile(join(web, 'index.html'), 'utf8'))
    .replace('__JS_HASH__', await hash('app.js'))
    .replace('__CSS_HASH__', await hash('app.css'));
  await writeFile(join(out, 'index.html'), html);
  console.log(`build-web: web/dist built in ${Date.now() - t0} ms`);
}

if (!watch) await rm(out, { recursive: true, force: true });
try {
  await buildOnce();
} catch (err) {
  console.error(`build-web: ${err?.message ?? err}`);
  process.exit(1);
}
if (watch) {
  const { watch: fsWatch } = await import('node:fs');
  let timer;
  fsWatch(web, { recursive: true }, (_e, f) => {
    if (!f || String(f).startsWith('dist')) return;
    clearTimeout(timer);
    timer = setTimeout(() => buildOnce().catch((e) => console.error(`build-web: ${e.message}`)), 100);
  });
  console.log('build-web: watching web/ for changes');
}
