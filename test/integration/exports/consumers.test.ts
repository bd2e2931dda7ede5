import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cocoExport } from '../../../src/exports/coco.js';
import { csvExport } from '../../../src/exports/csv.js';
import { cvatVideoExport, nextFrameIn } from '../../../src/exports/cvat.js';
import { motExport } from '../../../src/exports/mot.js';
import { tracksFromFrames } from '../../../src/exports/tracks.js';
import { yoloExport } from '../../../src/exports/yolo.js';
import { zipStore } from '../../../src/exports/zip.js';
import {
  bytes,
  parseCsv,
  SAMPLE_LABELS,
  SAMPLE_PERSON_CVAT,
  SAMPLE_VIDEO,
  sampleFrames,
  text,
} from '../../helpers/formats.js';

/**
 * The exports read by real consumers: Debian's python3 (csv, json, xml.etree, zipfile), Info-ZIP's
 * `unzip -t`, and libxml2's `xmllint` validating the CVAT XML against the schema in
 * test/fixtures/exports (written from CVAT's documentation). A tool that is not installed skips
 * its test with the reason (apt-get install python3 unzip libxml2-utils).
 */

const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const PY = ['/usr/bin/python3', 'python3'].find((p) =>
  has(p, ['-c', 'import zipfile, csv, json, xml.etree']),
);
const UNZIP = has('unzip', ['-v']);
const XMLLINT = has('xmllint', ['--version']);
const XSD = new URL('../../fixtures/exports/cvat-video-1.1.xsd', import.meta.url).pathname;

let dir: string;
const frames = sampleFrames();
const framesAsync = async function* () {
  yield* sampleFrames();
};
const python = (script: string, ...args: string[]) =>
  JSON.parse(execFileSync(PY as string, ['-c', script, ...args], { encoding: 'utf8' }));

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wd-exports-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('exports read by real consumers', () => {
  it('CSV: python csv reads the same rows as the RFC 4180 parser', {
    skip: !PY && 'python3 not installed',
  }, async () => {
    const out = await text(csvExport(frames));
    const file = join(dir, 'detections.csv');
    writeFileSync(file, out);
    const rows = python(
      'import csv,json,sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline="")))))',
      file,
    );
    assert.deepEqual(rows, parseCsv(out));
    assert.ok(rows.some((r: string[]) => r[3] === 'car, "big"'));
  });

  it('MOT: python csv reads 10 numeric fields per line', {
    skip: !PY && 'python3 not installed',
  }, async () => {
    const file = join(dir, 'mot.txt');
    writeFileSync(file, await text(motExport(frames)));
    const rows: number[][] = python(
      'import csv,json,sys; print(json.dumps([[float(x) for x in r] for r in csv.reader(open(sys.argv[1]))]))',
      file,
    );
    assert.equal(
      rows.length,
      frames.reduce((s, f) => s + f.detections.length, 0),
    );
    assert.ok(rows.every((r) => r.length === 10 && r[7] === -1 && r[8] === -1 && r[9] === -1));
    assert.deepEqual([...new Set(rows.map((r) => r[1]))].sort(), [-1, 1, 2]);
  });

  it('COCO: python json loads it; images, annotations and categories cross-reference', {
    skip: !PY && 'python3 not installed',
  }, async () => {
    const file = join(dir, 'coco.json');
    writeFileSync(
      file,
      await text(cocoExport({ video: SAMPLE_VIDEO, labels: SAMPLE_LABELS, frames: framesAsync })),
    );
    const r = python(
      `import json,sys
d = json.load(open(sys.argv[1]))
imgs = {i["id"]: i for i in d["images"]}
cats = {c["id"]: c["name"] for c in d["categories"]}
ok = all(a["image_id"] in imgs and a["category_id"] in cats and len(a["bbox"]) == 4 for a in d["annotations"])
tracks = sorted({a["attributes"].get("track_id", -1) for a in d["annotations"]})
print(json.dumps({"images": len(imgs), "annotations": len(d["annotations"]), "ok": ok, "tracks": tracks}))`,
      file,
    );
    assert.deepEqual(r, {
      images: frames.length,
      annotations: frames.reduce((s, f) => s + f.detections.length, 0),
      ok: true,
      tracks: [-1, 1, 2],
    });
  });

  const cvatXml = () =>
    text(
      cvatVideoExport({
        video: { ...SAMPLE_VIDEO, name: `${SAMPLE_VIDEO.name}\u0000\u0007]]>` },
        labels: SAMPLE_LABELS,
        tracks: tracksFromFrames(frames),
        nextAnalysedFrame: nextFrameIn(frames.map((f) => f.frameIndex)),
      }),
    );

  it('CVAT: python xml.etree parses it back to the same tracks, labels unescaped', {
    skip: !PY && 'python3 not installed',
  }, async () => {
    const file = join(dir, 'cvat.xml');
    writeFileSync(file, await cvatXml());
    const r = python(
      `import json,sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(json.dumps({"name": root.find("meta/task/name").text, "tracks": [[t.get("id"), t.get("label"), [[int(b.get("frame")), int(b.get("outside"))] for b in t.findall("box")]] for t in root.findall("track")]}))`,
      file,
    );
    assert.equal(
      r.name,
      'clip <1> & "two".mp4]]>',
      'the name survives escaping; control characters are gone',
    );
    assert.deepEqual(r.tracks, [
      ['1', 'person', SAMPLE_PERSON_CVAT],
      ['2', 'car, "big"', [2, 3, 4, 5, 6, 7, 8, 9].map((f) => [f, 0])],
    ]);
  });

  it('CVAT: xmllint validates it against the CVAT for video 1.1 schema, and rejects a broken copy', {
    skip: !XMLLINT && 'xmllint not installed',
  }, async () => {
    const file = join(dir, 'cvat-valid.xml');
    writeFileSync(file, await cvatXml());
    const ok = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    const broken = join(dir, 'cvat-broken.xml');
    writeFileSync(broken, (await cvatXml()).replace('outside="1"', 'outside="yes"'));
    const bad = spawnSync('xmllint', ['--noout', '--schema', XSD, broken], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0, 'the schema check can fail');
    assert.match(bad.stderr, /outside/);
  });

  it('YOLO: unzip -t and python zipfile accept the archive and read the files', {
    skip: (!PY || !UNZIP) && 'python3 or unzip not installed',
  }, async () => {
    const file = join(dir, 'yolo.zip');
    writeFileSync(
      file,
      await bytes(yoloExport({ video: SAMPLE_VIDEO, labels: SAMPLE_LABELS, frames: framesAsync })),
    );
    const t = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stdout + t.stderr);
    assert.match(t.stdout, /No errors detected/);
    const r = python(
      `import json,sys,zipfile
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps({"bad": z.testzip(), "names": z.read("obj.names").decode(), "count": len(z.namelist()), "f2": z.read("obj_train_data/frame_000002.txt").decode()}))`,
      file,
    );
    assert.equal(r.bad, null);
    assert.equal(r.names, 'person\ncar, "big"\ndog\n');
    assert.equal(r.count, 3 + frames.length);
    assert.equal(r.f2.split('\n').filter(Boolean).length, 2);
  });

  it('ZIP64: 70,000 entries (over the 65,535 a plain ZIP counts) pass unzip -t and open in python zipfile', {
    skip: (!PY || !UNZIP) && 'python3 or unzip not installed',
  }, async () => {
    const file = join(dir, 'many.zip');
    const entries = function* () {
      for (let i = 0; i < 70_000; i++) yield { name: `f/${i}.txt`, data: i % 1000 === 0 ? `${i}\n` : '' };
    };
    writeFileSync(file, await bytes(zipStore(entries())));
    const t = spawnSync('unzip', ['-tq', file], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stdout + t.stderr);
    const r = python(
      'import json,sys,zipfile; z = zipfile.ZipFile(sys.argv[1]); print(json.dumps([len(z.namelist()), z.read("f/69000.txt").decode()]))',
      file,
    );
    assert.deepEqual(r, [70_000, '69000\n']); // unzip -t checked every CRC
  });
});
