import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { createLocalStorage, InvalidKeyError } from '../../src/storage/local.js';

const root = mkdtempSync(join(tmpdir(), 'wd-storage-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function text(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of s) out += c.toString();
  return out;
}

describe('local storage', () => {
  const store = createLocalStorage(root);

  it('writes a temp blob, commits it, reads ranges, removes it', async () => {
    const t = await store.writeTemp();
    assert.match(t.key, /^tmp\/[0-9a-f-]{36}$/);
    await pipeline(Readable.from([Buffer.from('hello '), Buffer.from('world')]), t.stream);
    await store.commit(t.key, 'videos/abc');
    assert.equal(existsSync(join(root, t.key)), false);
    assert.deepEqual(await store.stat('videos/abc').then((s) => s?.size), 11);
    assert.equal(store.path('videos/abc'), join(root, 'videos/abc'));
    assert.equal(await text(store.createReadStream('videos/abc')), 'hello world');
    assert.equal(await text(store.createReadStream('videos/abc', { start: 6, end: 10 })), 'world');
    await store.remove('videos/abc');
    assert.equal(await store.stat('videos/abc'), null);
    await store.remove('videos/abc'); // missing is fine
    assert.deepEqual(readdirSync(join(root, 'videos')), []);
  });

  it('refuses keys that could escape the root', () => {
    for (const key of [
      '../x',
      'videos/../../x',
      '/etc/passwd',
      'a\\b',
      'a/./b',
      '',
      'a\u0000b',
      'videos/..',
      '.hidden/x',
      'a//b',
    ]) {
      assert.throws(() => store.path(key), InvalidKeyError, key);
    }
    assert.equal(store.path('videos/3f2c-1'), join(root, 'videos/3f2c-1'));
  });
});
