import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  childSucceeded,
  describeChildFailure,
  runMediaChild,
  spawnMediaChild,
} from '../../../src/media/av/child.js';

// Small programs that misbehave the ways a decoder can: the runner must turn each into a sentence.
const dir = mkdtempSync(join(tmpdir(), 'media-child-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function program(name: string, source: string): string {
  const p = join(dir, name);
  writeFileSync(p, source);
  return p;
}
const echo = program('echo.mjs', `process.stdin.pipe(process.stdout);`);
const segv = program('segv.mjs', `process.kill(process.pid, 'SIGSEGV');`);
const hang = program('hang.mjs', `setInterval(() => {}, 1000);`);
// native-side growth (Buffers live outside the V8 heap, as FFmpeg's frames do)
const grow = program(
  'grow.mjs',
  `const keep = []; setInterval(() => { const b = Buffer.alloc(64 * 1024 * 1024, 1); keep.push(b); }, 20);`,
);

describe('media child process runner', () => {
  it('passes stdin to the program and collects stdout', async () => {
    const r = await runMediaChild({
      program: echo,
      args: [],
      input: Buffer.from('hello'),
      timeoutMs: 20_000,
      maxRssMb: 1024,
      maxStdoutBytes: 100,
    });
    assert.ok(childSucceeded(r), r.stderrTail);
    assert.equal(r.stdout.toString(), 'hello');
    assert.equal(describeChildFailure(r, 'The video decoder'), null);
  });

  it('turns a segfault into a sentence', async () => {
    const r = await runMediaChild({
      program: segv,
      args: [],
      timeoutMs: 20_000,
      maxRssMb: 1024,
      maxStdoutBytes: 10,
    });
    assert.equal(r.signal, 'SIGSEGV');
    assert.equal(
      describeChildFailure(r, 'The video decoder', { atSec: 12.43 }),
      'The video decoder crashed (SIGSEGV) at 12.4 s.',
    );
  });

  it('kills a program that runs past its time limit', async () => {
    const r = await runMediaChild({
      program: hang,
      args: [],
      timeoutMs: 300,
      maxRssMb: 1024,
      maxStdoutBytes: 10,
    });
    assert.equal(r.killed, 'timeout');
    assert.match(
      describeChildFailure(r, 'The video probe', { timeoutMs: 300 }) ?? '',
      /took longer than 0.3 s/,
    );
  });

  it('kills a program whose memory grows past the bound', async () => {
    const r = await runMediaChild({
      program: grow,
      args: [],
      timeoutMs: 60_000,
      maxRssMb: 300,
      maxStdoutBytes: 10,
    });
    assert.equal(r.killed, 'memory');
    assert.ok(r.peakRssMb > 300);
    assert.match(describeChildFailure(r, 'The video decoder', { maxRssMb: 300 }) ?? '', /more than 300 MB/);
  });

  it('stops on abort', async () => {
    const ac = new AbortController();
    const c = spawnMediaChild({
      program: hang,
      args: [],
      timeoutMs: 60_000,
      maxRssMb: 1024,
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 100);
    const exit = await c.exited;
    assert.equal(exit.killed, 'aborted');
  });
});
