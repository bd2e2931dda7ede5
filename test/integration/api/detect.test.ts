import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { openAsBlob, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FIXTURES } from '../../helpers/content.js';
import { call, registerAndLogin } from '../../helpers/http.js';
import { createTestDatabase, startServer, type TestDatabase, type TestServer } from '../../helpers/server.js';

/**
 * POST /v1/detect and GET /v1/models over real HTTP on the real runtime (default model, real
 * ffmpeg), and `web-detector detect <image>` as a process: the fixture photos must give what the
 * fixtures README says the model sees in them.
 */

let tdb: TestDatabase;
let srv: TestServer;
let base: string;
let token: string;

async function detect(file: Blob | null, fields: Record<string, string> = {}, name = 'photo.png') {
  const form = new FormData();
  if (file) form.append('image', file, name);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return call(base, 'POST', '/v1/detect', { token, body: form });
}

before(async () => {
  tdb = await createTestDatabase('pglite');
  srv = await startServer(tdb);
  base = srv.url;
  token = (await registerAndLogin(base)).accessToken;
});

after(async () => {
  await srv?.close();
  await tdb?.drop();
});

describe('GET /v1/models', () => {
  test('lists the bundled model with its 80 COCO labels and input size', async () => {
    const res = await call(base, 'GET', '/v1/models');
    assert.equal(res.status, 200);
    const m = res.body.models.find((x: { name: string }) => x.name === 'centernet');
    assert.ok(m, 'centernet is listed');
    assert.equal(m.labels.length, 80);
    assert.equal(m.labels[0], 'person');
    assert.deepEqual([m.input.width, m.input.height], [512, 512]);
  });
});

describe('POST /v1/detect', () => {
  test('finds the cup and the dining table in coffee.png, boxes in its 600x400 pixels', async () => {
    const res = await detect(await openAsBlob(join(FIXTURES, 'coffee.png')));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual([res.body.width, res.body.height, res.body.model], [600, 400, 'centernet']);
    const labels = res.body.detections.map((d: { label: string }) => d.label);
    assert.ok(labels.includes('cup'), `cup in ${labels}`);
    assert.ok(labels.includes('dining table'), `dining table in ${labels}`);
    const cup = res.body.detections.find((d: { label: string }) => d.label === 'cup');
    assert.ok(Math.abs(cup.score - 0.44) < 0.01, `cup score ${cup.score}`);
    for (const d of res.body.detections) {
      assert.ok(d.box.x1 >= 0 && d.box.x2 <= 600 && d.box.y1 >= 0 && d.box.y2 <= 400 && d.box.x1 < d.box.x2);
    }
  });

  test('finds the person in astronaut.png; labels and minScore filter', async () => {
    const img = await openAsBlob(join(FIXTURES, 'astronaut.png'));
    const all = await detect(img);
    assert.equal(all.status, 200);
    assert.equal(all.body.detections[0].label, 'person');
    assert.ok(Math.abs(all.body.detections[0].score - 0.61) < 0.01);
    const onlyCups = await detect(img, { labels: 'cup' });
    assert.deepEqual(onlyCups.body.detections, []);
    const strict = await detect(img, { minScore: '0.9' });
    assert.deepEqual(strict.body.detections, []);
  });

  test('a text file, a corrupt image, no file and a bad option are 4xx with a sentence', async () => {
    const text = await detect(new Blob(['not an image at all\n'.repeat(10)]), {}, 'x.png');
    assert.equal(text.status, 415);
    assert.equal(text.body.error.code, 'NOT_AN_IMAGE');
    assert.match(text.body.error.message, /^[A-Z].*\.$/);
    const png = Buffer.from(await (await openAsBlob(join(FIXTURES, 'chelsea.png'))).arrayBuffer());
    const corrupt = await detect(new Blob([png.subarray(0, 200)]), {}, 'cut.png');
    assert.ok(corrupt.status === 415 || corrupt.status === 400, `status ${corrupt.status}`);
    assert.doesNotMatch(corrupt.text, /at .*\.ts:\d+/); // no stack trace
    const none = await detect(null, { minScore: '0.5' });
    assert.equal(none.status, 400);
    const bad = await detect(await openAsBlob(join(FIXTURES, 'coffee.png')), { minScore: '2' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /minScore/);
    const model = await detect(await openAsBlob(join(FIXTURES, 'coffee.png')), { model: 'nope' });
    assert.equal(model.status, 400);
    // and the server still answers
    assert.equal((await call(base, 'GET', '/healthz')).status, 200);
  });

  test('needs a token', async () => {
    const form = new FormData();
    form.append('image', await openAsBlob(join(FIXTURES, 'coffee.png')), 'c.png');
    const res = await call(base, 'POST', '/v1/detect', { body: form });
    assert.equal(res.status, 401);
  });
});

describe('web-detector detect <image>', () => {
  test('prints the detections of chelsea.png as JSON (the model takes this cat for a dog)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'detect', join(FIXTURES, 'chelsea.png')],
      { cwd: new URL('../../..', import.meta.url).pathname, env: { ...process.env, LOG_LEVEL: 'silent' } },
    );
    const out = JSON.parse(stdout);
    assert.deepEqual([out.width, out.height], [451, 300]);
    assert.equal(out.detections[0].label, 'dog');
    assert.ok(Math.abs(out.detections[0].score - 0.47) < 0.01, `dog score ${out.detections[0].score}`);
  });

  test('a file that is neither image nor video exits 2 with a sentence', async () => {
    const junk = join(tdb.dataDir, 'junk.bin');
    writeFileSync(junk, 'junk');
    await assert.rejects(
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/main.ts', 'detect', junk], {
        cwd: new URL('../../..', import.meta.url).pathname,
      }),
      (e: { code: number; stderr: string }) =>
        e.code === 2 &&
        /cannot be read as an image or a video|is not a video that can be read/.test(e.stderr),
    );
  });
});
