import { crc32 } from '../../src/exports/crc32.js';
import type { ExportFrame, ExportVideo } from '../../src/exports/types.js';

/**
 * Readers written from the published specs, to round-trip the exports in tests: RFC 4180 CSV,
 * the ZIP container (PKWARE APPNOTE: end records, ZIP64, central directory, local headers, CRC),
 * and the box elements of CVAT's XML. Deliberately independent of the writers' code.
 */

/** RFC 4180: records end in CRLF; a quoted field may hold commas, CRLF and doubled quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const row: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw new Error('unterminated quoted field');
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
            } else {
              i++;
              break;
            }
          } else field += text[i++];
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\r') {
          if (text[i] === '"' || text[i] === '\n') throw new Error(`bare ${JSON.stringify(text[i])} at ${i}`);
          field += text[i++];
        }
      }
      row.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text.startsWith('\r\n', i)) {
        i += 2;
        break;
      }
      throw new Error(`expected a comma or CRLF at ${i}`);
    }
    rows.push(row);
  }
  return rows;
}

export interface ZipFile {
  name: string;
  data: Uint8Array;
  flags: number;
}

/** Reads a ZIP the way a random-access reader does: from the end records to every local header. */
export function readZip(zip: Uint8Array): { files: ZipFile[]; zip64: boolean } {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const dec = new TextDecoder('utf-8', { fatal: true });
  let eocd = -1;
  for (let p = zip.length - 22; p >= Math.max(0, zip.length - 22 - 0xffff); p--) {
    if (v.getUint32(p, true) === 0x06054b50) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw new Error('no end of central directory record');
  let count = v.getUint16(eocd + 10, true);
  let cdSize = v.getUint32(eocd + 12, true);
  let cdOffset = v.getUint32(eocd + 16, true);
  let zip64 = false;
  if (eocd >= 20 && v.getUint32(eocd - 20, true) === 0x07064b50) {
    zip64 = true;
    const rec = Number(v.getBigUint64(eocd - 20 + 8, true));
    if (v.getUint32(rec, true) !== 0x06064b50) throw new Error('bad zip64 end record');
    count = Number(v.getBigUint64(rec + 32, true));
    cdSize = Number(v.getBigUint64(rec + 40, true));
    cdOffset = Number(v.getBigUint64(rec + 48, true));
  }
  const files: ZipFile[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (v.getUint32(p, true) !== 0x02014b50) throw new Error(`bad central record ${k}`);
    const flags = v.getUint16(p + 8, true);
    if (v.getUint16(p + 10, true) !== 0) throw new Error('not stored');
    const crc = v.getUint32(p + 16, true);
    const size = v.getUint32(p + 20, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let local = v.getUint32(p + 42, true);
    const name = dec.decode(zip.subarray(p + 46, p + 46 + nameLen));
    if (local === 0xffffffff) {
      // ZIP64 extended information extra field
      const e = p + 46 + nameLen;
      if (v.getUint16(e, true) !== 1) throw new Error('expected a zip64 extra field');
      local = Number(v.getBigUint64(e + 4, true));
    }
    if (v.getUint32(local, true) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const lName = v.getUint16(local + 26, true);
    const lExtra = v.getUint16(local + 28, true);
    const start = local + 30 + lName + lExtra;
    const data = zip.subarray(start, start + size);
    if (crc32(data) !== crc) throw new Error(`CRC mismatch in ${name}`);
    if (flags & 8) {
      const d = start + size;
      if (v.getUint32(d, true) !== 0x08074b50 || v.getUint32(d + 4, true) !== crc)
        throw new Error('bad data descriptor');
    }
    files.push({ name, data, flags });
    p += 46 + nameLen + extraLen + commentLen;
  }
  if (p !== cdOffset + cdSize) throw new Error('central directory size does not add up');
  return { files, zip64 };
}

export interface CvatBox {
  frame: number;
  outside: number;
  keyframe: number;
  xtl: number;
  ytl: number;
  xbr: number;
  ybr: number;
}

const attrs = (tag: string) =>
  Object.fromEntries([...tag.matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]])) as Record<
    string,
    string
  >;

/** The <track> and <box> elements of CVAT's XML (attributes only, no nesting beyond that). */
export function parseCvatTracks(xml: string): { id: number; label: string; boxes: CvatBox[] }[] {
  return [...xml.matchAll(/<track ([^>]*)>([\s\S]*?)<\/track>/g)].map((m) => {
    const t = attrs(m[1]);
    return {
      id: Number(t.id),
      label: t.label,
      boxes: [...m[2].matchAll(/<box ([^>]*)>/g)].map((b) => {
        const a = attrs(b[1]);
        return {
          frame: Number(a.frame),
          outside: Number(a.outside),
          keyframe: Number(a.keyframe),
          xtl: Number(a.xtl),
          ytl: Number(a.ytl),
          xbr: Number(a.xbr),
          ybr: Number(a.ybr),
        };
      }),
    };
  });
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export async function text(it: AsyncIterable<string>): Promise<string> {
  return (await collect(it)).join('');
}

export async function bytes(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  return Buffer.concat(await collect(it));
}

/**
 * A small job's results: 10 analysed frames of a 12-frame video (frames 0..9), two tracks: #1
 * person seen on 0..3 and 6..8 (a gap on 4..5, ends before the last analysed frame), #2 on 2..9
 * (runs to the end) with a label holding a comma and a quote; one untracked detection.
 */
export const SAMPLE_LABELS = ['person', 'car, "big"', 'dog'];
export const SAMPLE_VIDEO: ExportVideo = {
  name: 'clip <1> & "two".mp4',
  width: 640,
  height: 360,
  frameCount: 12,
};
export function sampleFrames(): ExportFrame[] {
  return Array.from({ length: 10 }, (_, i) => {
    const detections: ExportFrame['detections'] = [];
    if (i <= 3 || (i >= 6 && i <= 8))
      detections.push({
        label: 'person',
        score: 0.9,
        box: { x1: 10 + i, y1: 20, x2: 60 + i, y2: 120 },
        trackId: 1,
      });
    if (i >= 2)
      detections.push({
        label: 'car, "big"',
        score: 0.55,
        box: { x1: 300, y1: 100, x2: 400.25, y2: 180 },
        trackId: 2,
      });
    if (i === 5)
      detections.push({ label: 'dog', score: 0.3, box: { x1: 0, y1: 0, x2: 640, y2: 360 }, trackId: null });
    return { frameIndex: i, timestamp: i / 10, detections };
  });
}

/** Track 1's CVAT keyframes [frame, outside]: seen 0..3, gone on 4 and 5, seen 6..8, gone from 9. */
export const SAMPLE_PERSON_CVAT = [
  [0, 0],
  [1, 0],
  [2, 0],
  [3, 0],
  [4, 1],
  [6, 0],
  [7, 0],
  [8, 0],
  [9, 1],
];
