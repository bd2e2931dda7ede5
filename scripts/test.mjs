#!/usr/bin/env node
// Runs the test suite with node:test + tsx. Node 20's --test takes no globs, so the files are
// found here. Test files run one at a time (--test-concurrency=1): integration suites share this
// machine's PostgreSQL and Redis, and there are only 2 cores.
// Usage: npm test [-- <path-substring> ...]   e.g. npm test -- unit/   or   npm test -- auth
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return /\.test\.(ts|mts)$/.test(name) ? [p] : [];
  });
}
const filters = process.argv.slice(2);
const order = ['unit', 'integration', 'e2e'];
const files = walk(join(root, 'test'))
  .map((p) => relative(root, p))
  .filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)))
  .sort((a, b) => order.indexOf(a.split('/')[1]) - order.indexOf(b.split('/')[1]) || a.localeCompare(b));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'test' } },
);
process.exit(res.status ?? 1);
