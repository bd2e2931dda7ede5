import { crc32 } from './crc32.js';
import type { Source } from './types.js';

/**
 * A streamed ZIP writer, STORE only (no compression: the exports are small text files and a
 * deflate stream would cost CPU for little), following PKWARE's APPNOTE 6.3:
 * - an entry given as bytes or a string is written with its CRC and size in the local header;
 * - an entry given as a stream is written with general-purpose flag bit 3, its CRC and size in a
 *   data descriptor after the data, so it is never held whole;
 * - names are UTF-8 (flag bit 11);
 * - ZIP64 records are added when an archive has more than 65,535 entries (a video analysed frame
 *   by frame has one file per frame: an hour at 30 fps is 108,000) or passes 4 GiB; one entry must
 *   stay under 4 GiB.
 * Memory: the central directory is kept, already encoded, until the end (46 bytes plus the name per
 * entry, about 75 bytes per analysed frame for YOLO's per-frame files); nothing else accumulates.
 */

export interface ZipEntry {
  /** path inside the archive, '/'-separated, no leading '/' or '..' */
  name: string;
  data: Uint8Array | string | Source<Uint8Array | string>;
}

const enc = new TextEncoder();
const MAX32 = 0xffffffff;
const FLAG_DESCRIPTOR = 1 << 3;
const FLAG_UTF8 = 1 << 11;
const VERSION = 45; // 4.5: ZIP64
const MADE_BY = (3 << 8) | VERSION; // Unix, so the external attributes carry a file mode
const FILE_MODE = (0o100644 << 16) >>> 0;

class Bytes {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  u16(x: number) {
    this.view.setUint16(this.pos, x, true);
    this.pos += 2;
    return this;
  }
  u32(x: number) {
    this.view.setUint32(this.pos, x >>> 0, true);
    this.pos += 4;
    return this;
  }
  u64(x: number) {
    this.view.setBigUint64(this.pos, BigInt(x), true);
    this.pos += 8;
    return this;
  }
  bytes(b: Uint8Array) {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  done(): Uint8Array {
    if (this.pos !== this.buf.length)
      throw new Error(`zip record: wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

/** MS-DOS date and time, as ZIP stores them (local time, 2-second resolution, from 1980). */
function dosDateTime(d: Date): { date: number; time: number } {
  const year = Math.min(2107, Math.max(1980, d.getFullYear()));
  return {
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
  };
}

export class InvalidZipNameError extends Error {}

function entryName(name: string): Uint8Array {
  const parts = name.split('/');
  if (
    !name ||
    name.startsWith('/') ||
    parts.some((p) => p === '..' || p === '' || p === '.') ||
    name.includes('\\')
  )
    throw new InvalidZipNameError(`"${name}" is not a safe path inside an archive.`);
  const b = enc.encode(name);
  if (b.length > 0xffff) throw new InvalidZipNameError('A name inside an archive is too long.');
  return b;
}

const toBytes = (x: Uint8Array | string) => (typeof x === 'string' ? enc.encode(x) : x);

export async function* zipStore(
  entries: Source<ZipEntry>,
  modified = new Date(),
): AsyncGenerator<Uint8Array> {
  const { date, time } = dosDateTime(modified);
  const central: Uint8Array[] = [];
  let centralSize = 0;
  let count = 0;
  let offset = 0;
  const names = new Set<string>();
  for await (const e of entries) {
    const name = entryName(e.name);
    if (names.has(e.name)) throw new InvalidZipNameError(`"${e.name}" is in the archive twice.`);
    names.add(e.name);
    const known = typeof e.data === 'string' || e.data instanceof Uint8Array ? toBytes(e.data) : null;
    const flags = FLAG_UTF8 | (known ? 0 : FLAG_DESCRIPTOR);
    let crc = known ? crc32(known) : 0;
    let size = known ? known.length : 0;
    const headerOffset = offset;
    // fields the local header and the central record share, from "version needed" on
    const common = (b: Bytes, extraLength: number) =>
      b
        .u16(VERSION)
        .u16(flags)
        .u16(0)
        .u16(time)
        .u16(date)
        .u32(crc)
        .u32(size)
        .u32(size)
        .u16(name.length)
        .u16(extraLength);
    const local = common(new Bytes(30 + name.length).u32(0x04034b50), 0)
      .bytes(name)
      .done();
    yield local;
    offset += local.length;
    if (known) {
      if (known.length > 0) yield known;
      offset += known.length;
    } else {
      for await (const part of e.data as Source<Uint8Array | string>) {
        const b = toBytes(part);
        if (b.length === 0) continue;
        crc = crc32(b, crc);
        size += b.length;
        if (size >= MAX32)
          throw new Error(`zip entry ${e.name} is 4 GiB or more, which this writer does not store.`);
        yield b;
      }
      offset += size;
      const descriptor = new Bytes(16).u32(0x08074b50).u32(crc).u32(size).u32(size).done();
      yield descriptor;
      offset += descriptor.length;
    }
    // the central record; a ZIP64 extra field carries the offset once it no longer fits 32 bits
    const far = headerOffset >= MAX32;
    const rec = common(
      new Bytes(46 + name.length + (far ? 12 : 0)).u32(0x02014b50).u16(MADE_BY),
      far ? 12 : 0,
    )
      .u16(0) // comment
      .u16(0) // disk
      .u16(0) // internal attributes
      .u32(FILE_MODE)
      .u32(far ? MAX32 : headerOffset)
      .bytes(name);
    if (far) rec.u16(0x0001).u16(8).u64(headerOffset);
    const r = rec.done();
    central.push(r);
    centralSize += r.length;
    count += 1;
  }
  const centralOffset = offset;
  for (const r of central) yield r;
  offset += centralSize;
  const zip64 = count > 0xfffe || centralOffset >= MAX32 || centralSize >= MAX32;
  if (zip64) {
    const eocd64Offset = offset;
    yield new Bytes(56)
      .u32(0x06064b50)
      .u64(44) // size of the rest of this record
      .u16(MADE_BY)
      .u16(VERSION)
      .u32(0)
      .u32(0)
      .u64(count)
      .u64(count)
      .u64(centralSize)
      .u64(centralOffset)
      .done();
    yield new Bytes(20).u32(0x07064b50).u32(0).u64(eocd64Offset).u32(1).done();
  }
  yield new Bytes(22)
    .u32(0x06054b50)
    .u16(0)
    .u16(0)
    .u16(zip64 ? 0xffff : count)
    .u16(zip64 ? 0xffff : count)
    .u32(zip64 ? MAX32 : centralSize)
    .u32(zip64 ? MAX32 : centralOffset)
    .u16(0)
    .done();
}
