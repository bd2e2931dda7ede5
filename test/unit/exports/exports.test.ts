import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cocoExport } from '../../../src/exports/coco.js';
import { crc32 } from '../../../src/exports/crc32.js';
import { CSV_COLUMNS, csvExport, csvField } from '../../../src/exports/csv.js';
import { cvatVideoExport, nextFrameIn } from '../../../src/exports/cvat.js';
import { motExport } from '../../../src/exports/mot.js';
import { tracksFromFrames } from '../../../src/exports/tracks.js';
import { frameName, num } from '../../../src/exports/types.js';
import { xmlEscape } from '../../../src/exports/xml.js';
import { yoloExport } from '../../../src/exports/yolo.js';
import { InvalidZipNameError, zipStore } from '../../../src/exports/zip.js';
import {
  bytes,
  parseCsv,
  parseCvatTracks,
  readZip,
  SAMPLE_LABELS,
  SAMPLE_PERSON_CVAT,
  SAMPLE_VIDEO,
  sampleFrames,
  text,
} from '../../helpers/formats.js';

const frames = sampleFrames();
const framesAsync = async function* () {
  yield* sampleFrames();
};

describe('export helpers', () => {
  it('formats numbers, frame names and CSV fields', () => {
    assert.equal(num(400.25 - 300), '100.25');
    assert.equal(num(0.1 + 0.2), '0.3');
    assert.equal(num(-0.0001), '0');
    assert.equal(frameName(42, 100), 'frame_000042');
    assert.equal(frameName(42, 12_345_678), 'frame_00000042');
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\r\nlines'), '"two\r\nlines"');
  });

  it('escapes XML and drops characters XML 1.0 cannot carry', () => {
    assert.equal(xmlEscape(`a<b>&"c'\u0001\uFFFE\uD800z😀`), 'a&lt;b&gt;&amp;&quot;c&apos;z😀');
  });

  it('CRC-32 of the standard check string, in one piece and resumed across chunks', () => {
    const data = new TextEncoder().encode('123456789');
    assert.equal(crc32(data), 0xcbf43926);
    assert.equal(crc32(data.subarray(4), crc32(data.subarray(0, 4))), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });
});

describe('CSV export', () => {
  it('round-trips through an RFC 4180 parser: one row per detection, quoting where needed', async () => {
    const out = await text(csvExport(framesAsync()));
    assert.ok(out.endsWith('\r\n'));
    const rows = parseCsv(out);
    assert.deepEqual(rows[0], CSV_COLUMNS);
    const dets = frames.flatMap((f) => f.detections.map((d) => ({ f, d })));
    assert.equal(rows.length - 1, dets.length);
    dets.forEach(({ f, d }, k) => {
      assert.deepEqual(rows[k + 1], [
        String(f.frameIndex),
        num(f.timestamp, 6),
        d.trackId === null ? '' : String(d.trackId),
        d.label,
        String(d.score),
        num(d.box.x1),
        num(d.box.y1),
        num(d.box.x2),
        num(d.box.y2),
      ]);
    });
    assert.ok(out.includes('"car, ""big"""'), 'the label with a comma and quotes is quoted');
  });
});

describe('MOT export', () => {
  it('writes frame (1-based), id, x, y, w, h, conf, -1, -1, -1', async () => {
    const lines = (await text(motExport(frames))).trimEnd().split('\n');
    assert.equal(
      lines.length,
      frames.reduce((s, f) => s + f.detections.length, 0),
    );
    assert.equal(lines[0], '1,1,10,20,50,100,0.9,-1,-1,-1');
    assert.ok(lines.includes('3,2,300,100,100.25,80,0.55,-1,-1,-1'));
    assert.ok(lines.includes('6,-1,0,0,640,360,0.3,-1,-1,-1'), 'an untracked detection gets id -1');
    for (const l of lines) {
      const f = l.split(',').map(Number);
      assert.equal(f.length, 10);
      assert.ok(f.every(Number.isFinite) && f[0] >= 1 && f[4] > 0 && f[5] > 0);
    }
  });
});

describe('COCO export', () => {
  it('is valid COCO: ids unique, references resolve, bbox [x, y, w, h] inside the image, track_id in attributes', async () => {
    const coco = JSON.parse(
      await text(
        cocoExport({ video: SAMPLE_VIDEO, labels: SAMPLE_LABELS, frames: framesAsync, created: new Date(0) }),
      ),
    );
    assert.deepEqual(Object.keys(coco).sort(), ['annotations', 'categories', 'images', 'info', 'licenses']);
    assert.deepEqual(
      coco.categories,
      SAMPLE_LABELS.map((name, i) => ({ id: i + 1, name, supercategory: '' })),
    );
    assert.equal(coco.images.length, frames.length, 'one image per analysed frame');
    const imageIds = new Set(coco.images.map((im: { id: number }) => im.id));
    assert.equal(imageIds.size, coco.images.length);
    for (const im of coco.images) {
      assert.ok(Number.isInteger(im.id) && im.id > 0);
      assert.equal(im.width, 640);
      assert.equal(im.height, 360);
      assert.match(im.file_name, /^frame_\d{6}\.jpg$/);
    }
    const annIds = new Set<number>();
    for (const a of coco.annotations) {
      assert.ok(!annIds.has(a.id));
      annIds.add(a.id);
      assert.ok(imageIds.has(a.image_id));
      assert.ok(a.category_id >= 1 && a.category_id <= SAMPLE_LABELS.length);
      const [x, y, w, h] = a.bbox;
      assert.ok(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 640 && y + h <= 360);
      assert.ok(Math.abs(a.area - w * h) < 0.01);
      assert.equal(a.iscrowd, 0);
    }
    assert.equal(
      coco.annotations.length,
      frames.reduce((s, f) => s + f.detections.length, 0),
    );
    const third = coco.annotations.find(
      (a: { image_id: number; category_id: number }) => a.image_id === 3 && a.category_id === 2,
    );
    assert.deepEqual(third, {
      id: 4,
      image_id: 3,
      category_id: 2,
      bbox: [300, 100, 100.25, 80],
      area: 8020,
      iscrowd: 0,
      score: 0.55,
      attributes: { track_id: 2 },
    });
    const untracked = coco.annotations.find((a: { category_id: number }) => a.category_id === 3);
    assert.deepEqual(untracked.attributes, {});
  });

  it('refuses a label that is not the model’s', async () => {
    await assert.rejects(
      text(cocoExport({ video: SAMPLE_VIDEO, labels: ['person'], frames: framesAsync })),
      /not one of the model's labels/,
    );
  });
});

describe('CVAT for video export', () => {
  const analysed = frames.map((f) => f.frameIndex);

  it('writes one track per track with keyframes, outside="1" after a gap and at the end', async () => {
    const xml = await text(
      cvatVideoExport({
        video: SAMPLE_VIDEO,
        labels: SAMPLE_LABELS,
        tracks: tracksFromFrames(frames),
        nextAnalysedFrame: nextFrameIn(analysed),
        dumped: new Date(0),
      }),
    );
    assert.ok(xml.includes('<name>clip &lt;1&gt; &amp; &quot;two&quot;.mp4</name>'));
    assert.ok(xml.includes('<stop_frame>11</stop_frame>'));
    const tracks = parseCvatTracks(xml);
    assert.deepEqual(
      tracks.map((t) => [t.id, t.label]),
      [
        [1, 'person'],
        [2, 'car, &quot;big&quot;'],
      ],
    );
    const person = tracks[0].boxes.map((b) => [b.frame, b.outside]);
    // seen 0..3, not on 4 and 5 (outside from 4), seen 6..8, gone on 9 (outside from 9)
    assert.deepEqual(person, SAMPLE_PERSON_CVAT);
    // an outside box repeats the last seen box
    assert.deepEqual({ ...tracks[0].boxes[4], frame: 3, outside: 0 }, tracks[0].boxes[3]);
    // track 2 runs to the last analysed frame: no outside box after it
    assert.deepEqual(
      tracks[1].boxes.map((b) => b.frame),
      [2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.ok(tracks.every((t) => t.boxes.every((b) => b.keyframe === 1)));
  });

  it('with fps sampling, interpolates across frames never analysed and puts gaps on analysed ones', async () => {
    // analysed every 3rd frame of 30; seen on 0, 3, 6 then 15, 18
    const sampled = Array.from({ length: 10 }, (_, i) => i * 3);
    const box = { x1: 1, y1: 2, x2: 3, y2: 4 };
    const xml = await text(
      cvatVideoExport({
        video: { ...SAMPLE_VIDEO, frameCount: 30 },
        labels: ['person'],
        tracks: [
          {
            id: 7,
            label: 'person',
            boxes: [0, 3, 6, 15, 18].map((frameIndex) => ({ frameIndex, score: 1, box })),
          },
        ],
        nextAnalysedFrame: nextFrameIn(sampled),
      }),
    );
    assert.deepEqual(
      parseCvatTracks(xml)[0].boxes.map((b) => [b.frame, b.outside]),
      [
        [0, 0],
        [3, 0],
        [6, 0],
        [9, 1],
        [15, 0],
        [18, 0],
        [21, 1],
      ],
    );
  });

  it('refuses boxes out of order or outside the video', async () => {
    const box = { x1: 1, y1: 2, x2: 3, y2: 4 };
    const run = (frameIndices: number[]) =>
      text(
        cvatVideoExport({
          video: SAMPLE_VIDEO,
          labels: ['person'],
          tracks: [
            {
              id: 1,
              label: 'person',
              boxes: frameIndices.map((frameIndex) => ({ frameIndex, score: 1, box })),
            },
          ],
          nextAnalysedFrame: () => null,
        }),
      );
    await assert.rejects(run([3, 2]), /not in frame order/);
    await assert.rejects(run([12]), /outside the video/);
  });

  it('finds the next analysed frame by binary search', () => {
    const next = nextFrameIn([0, 3, 6]);
    assert.deepEqual([-1, 0, 2, 3, 5, 6, 7].map(next), [0, 3, 3, 6, 6, null, null]);
  });
});

describe('ZIP writer', () => {
  it('writes stored entries, given whole or streamed, that a spec reader reads back with good CRCs', async () => {
    const stream = async function* () {
      yield 'hello ';
      yield new Uint8Array(0);
      yield new TextEncoder().encode('wörld');
    };
    const zip = await bytes(
      zipStore([
        { name: 'a.txt', data: 'first' },
        { name: 'dir/empty.txt', data: '' },
        { name: 'dir/streamed.txt', data: stream() },
        { name: 'ünïcode.txt', data: new Uint8Array([0, 1, 2, 255]) },
      ]),
    );
    const { files, zip64 } = readZip(zip);
    assert.equal(zip64, false);
    const dec = new TextDecoder();
    assert.deepEqual(
      files.map((f) => [f.name, dec.decode(f.data), f.flags & 8]),
      [
        ['a.txt', 'first', 0],
        ['dir/empty.txt', '', 0],
        ['dir/streamed.txt', 'hello wörld', 8],
        ['ünïcode.txt', dec.decode(new Uint8Array([0, 1, 2, 255])), 0],
      ],
    );
  });

  it('refuses unsafe or repeated names', async () => {
    for (const name of ['../x', '/abs', 'a//b', 'a\\b', '', 'a/./b']) {
      await assert.rejects(bytes(zipStore([{ name, data: '' }])), InvalidZipNameError, name);
    }
    await assert.rejects(
      bytes(
        zipStore([
          { name: 'a', data: '' },
          { name: 'a', data: '' },
        ]),
      ),
      /twice/,
    );
  });
});

describe('YOLO export', () => {
  it('zips the class list and one label file per analysed frame, normalised cx cy w h', async () => {
    const withEmpty = [...frames, { frameIndex: 10, timestamp: 1, detections: [] }];
    const zip = await bytes(
      yoloExport({ video: SAMPLE_VIDEO, labels: SAMPLE_LABELS, frames: () => withEmpty }),
    );
    const files = new Map(readZip(zip).files.map((f) => [f.name, new TextDecoder().decode(f.data)]));
    assert.equal(files.get('obj.names'), 'person\ncar, "big"\ndog\n');
    assert.match(files.get('obj.data') ?? '', /^classes = 3\n/);
    const labelFiles = [...files.keys()].filter((n) => n.startsWith('obj_train_data/'));
    assert.equal(labelFiles.length, withEmpty.length, 'one file per analysed frame, empty ones included');
    assert.equal(files.get('obj_train_data/frame_000010.txt'), '');
    // frame 2: person box (12, 20)-(62, 120), car box (300, 100)-(400.25, 180) on 640x360
    assert.equal(
      files.get('obj_train_data/frame_000002.txt'),
      `0 ${(37 / 640).toFixed(6)} ${(70 / 360).toFixed(6)} ${(50 / 640).toFixed(6)} ${(100 / 360).toFixed(6)}\n` +
        `1 ${(350.125 / 640).toFixed(6)} ${(140 / 360).toFixed(6)} ${(100.25 / 640).toFixed(6)} ${(80 / 360).toFixed(6)}\n`,
    );
    assert.equal(
      files.get('train.txt'),
      withEmpty.map((f) => `data/obj_train_data/${frameName(f.frameIndex, 12)}.jpg\n`).join(''),
    );
  });
});

describe('streaming', () => {
  it('every writer yields output before its input ends (memory does not grow with the video)', async () => {
    const endless = function* () {
      for (let i = 0; ; i++) {
        yield {
          frameIndex: i,
          timestamp: i / 30,
          detections: [
            { label: 'person', score: 0.5, box: { x1: 1, y1: 2, x2: 30, y2: 40 }, trackId: 1 + (i % 50) },
          ],
        };
      }
    };
    const endlessTracks = function* () {
      for (let id = 1; ; id++)
        yield {
          id,
          label: 'person',
          boxes: [{ frameIndex: 0, score: 1, box: { x1: 1, y1: 2, x2: 3, y2: 4 } }],
        };
    };
    const video = { ...SAMPLE_VIDEO, frameCount: 1e9 };
    const writers: [string, AsyncGenerator<string | Uint8Array>][] = [
      ['csv', csvExport(endless())],
      ['mot', motExport(endless())],
      ['coco', cocoExport({ video, labels: ['person'], frames: endless })],
      ['yolo', yoloExport({ video, labels: ['person'], frames: endless })],
      [
        'cvat',
        cvatVideoExport({ video, labels: ['person'], tracks: endlessTracks(), nextAnalysedFrame: () => 1 }),
      ],
    ];
    for (const [name, w] of writers) {
      const first = await w.next();
      assert.equal(first.done, false, name);
      assert.ok((first.value as string | Uint8Array).length > 0, name);
      await w.return(undefined);
    }
  });
});
