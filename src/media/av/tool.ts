/**
 * The media tool: the only program that loads the FFmpeg libraries (node-av). It runs as a child
 * process (src/media/av/child.ts starts it and bounds its time and memory), so a decoder crash
 * kills this process, never the API or a worker.
 *
 *   node tool.js <command> '<json request>'
 *
 * Commands (requests: protocol.ts):
 * - probe: container detection on the first bytes (no file name: FFmpeg must not guess from
 *   it), the allowlist, then the streams, with the format pinned. JSON on stdout.
 * - scan:  every packet of the first video stream, demux only, as the CSV lines
 *   `stream,<tb>` / `packet,<pts>,<dts>,<flags>` that PacketLineParser (packets.ts) reads.
 * - decode: one chunk. Seeks (backward, to the chunk's keyframe or before), decodes, outputs the
 *   planned frames matched BY PTS, upright and scaled to the model input, RGB24, each after a
 *   16-byte header; ends with an `end` record (DecodeSummary). When the seek lands after the
 *   first planned frame, it decodes again from the start (sequentially).
 * - image: one JPEG/PNG/WebP from stdin: header size checked against maxPixels before decoding.
 *   Raw RGB24 on stdout after an 8-byte header (width, height of the source image).
 * - jpeg:  the frame shown at a time, optionally cropped, scaled to a width, as a JPEG.
 *
 * Every open pins the detected format, whitelists only the `file` protocol and that format, and
 * turns off MOV/MP4 external data references (enable_drefs=0).
 *
 * Errors: a sentence on stderr as the last line `@@error <json>` and exit code 3; for decode an
 * `error` record on stdout too. The parent reads those; anything else (a signal) is a crash.
 */
import { readFileSync } from 'node:fs';
import {
  AV_CODEC_ID_MJPEG,
  AV_CODEC_ID_PNG,
  AV_CODEC_ID_WEBP,
  AV_DISPOSITION_ATTACHED_PIC,
  AV_LOG_FATAL,
  AV_NOPTS_VALUE,
  AV_PIX_FMT_YUVJ420P,
  AV_PKT_DATA_DISPLAYMATRIX,
  AV_PKT_FLAG_CORRUPT,
  AV_PKT_FLAG_DISCARD,
  AV_PKT_FLAG_KEY,
  AVDISCARD_ALL,
  AVMEDIA_TYPE_AUDIO,
  AVMEDIA_TYPE_VIDEO,
  AVSEEK_FLAG_BACKWARD,
} from 'node-av/constants';
import {
  avGetPixFmtName,
  Codec,
  CodecContext,
  Dictionary,
  Filter,
  FilterGraph,
  FilterInOut,
  FormatContext,
  Frame,
  InputFormat,
  Log,
  Packet,
  type Stream,
} from 'node-av/lib';
import { readImageHeader } from '../image-header.js';
import { rotationFilters } from '../orientation.js';
import { ffmpegScaleFilter } from '../scale.js';
import {
  containerRefusal,
  type DecodeRequest,
  type DecodeSummary,
  decoderMaxPixels,
  displayMatrixRotation,
  encodeRecordHeader,
  FRAME_TOO_LARGE,
  framePixelsRefusal,
  type ImageRequest,
  type JpegRequest,
  type ProbeRequest,
  PtsMatcher,
  pinnedName,
  RecordKind,
  type ScanRequest,
  sniffRefusal,
} from './protocol.js';

class ToolError extends Error {
  /** for the parent: a refusal it must not retry or skip past (FRAME_TOO_LARGE) */
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const PROBE_BYTES = 1 << 20;
const NOPTS = AV_NOPTS_VALUE;

function openOptions(format: string): Dictionary {
  return Dictionary.fromObject({
    protocol_whitelist: 'file',
    format_whitelist: format,
    enable_drefs: 0,
    use_absolute_path: 0,
  });
}

/** Opens `file` with the pinned input format; throws a sentence when it cannot. */
function openPinned(
  file: string,
  format: string,
  extra: Record<string, string | number> = {},
): FormatContext {
  const fmt = InputFormat.findInputFormat(format);
  if (!fmt) throw new ToolError(`The ${format} format is not available.`);
  const fc = new FormatContext();
  const opts = openOptions(format);
  for (const [k, v] of Object.entries(extra)) opts.set(k, String(v));
  const ret = fc.openInputSync(file, fmt, opts);
  if (ret < 0) throw new ToolError('The file is not a video that can be read.');
  return fc;
}

/**
 * avformat_find_stream_info, whose decoders (it decodes a frame or more of each stream) refuse a
 * picture over `maxPixels` (decoderMaxPixels) instead of allocating it: only for a file of one
 * stream. node-av 6.1.1 cannot give per-stream options: findStreamInfoSync passes its one
 * dictionary as the options ARRAY (a file of two or more streams reads past it: SIGSEGV, every
 * MPEG-TS with audio), the async form rejects an array ("Invalid argument") and applies a single
 * dictionary to stream 0 only. With more streams the header check (probe) and the RSS bound remain.
 */
function findStreamInfo(fc: FormatContext, maxPixels: number | undefined): number {
  const opts =
    maxPixels && maxPixels > 0 && fc.nbStreams === 1
      ? Dictionary.fromObject({ max_pixels: String(decoderMaxPixels(maxPixels)) })
      : null;
  return fc.findStreamInfoSync(opts);
}

/** Throws the refusal when a decoded (or refused) picture is over `maxPixels`. */
function checkPicture(
  width: number,
  height: number,
  maxPixels: number | undefined,
  atSec: number | null,
): void {
  if (!maxPixels) return;
  const refusal = framePixelsRefusal(width, height, maxPixels, atSec);
  if (refusal) throw new ToolError(refusal, FRAME_TOO_LARGE);
}

function firstVideoStream(fc: FormatContext): Stream | null {
  return (
    fc.streams.find(
      (s) => s.codecpar.codecType === AVMEDIA_TYPE_VIDEO && !s.hasDisposition(AV_DISPOSITION_ATTACHED_PIC),
    ) ?? null
  );
}

const rat = (r: { num: number; den: number }) => (r.den ? r.num / r.den : 0);

function probe(req: ProbeRequest): unknown {
  let head: Buffer;
  try {
    const fd = readFileSync(req.file);
    head = fd.subarray(0, PROBE_BYTES);
  } catch {
    throw new ToolError('The file could not be read.');
  }
  const sniffed = sniffRefusal(head);
  if (sniffed) throw new ToolError(sniffed);
  // no file name: detection by content only (FFmpeg would trust an .m3u8 or .mp4 extension)
  const detected = InputFormat.probe(head);
  const refusal = containerRefusal(detected?.name);
  if (refusal) throw new ToolError(refusal);
  const format = pinnedName(detected?.name ?? '');
  // one more than accepted: the demuxer stops adding streams at max_streams, so going over shows
  const fc = openPinned(req.file, format, { max_streams: req.maxStreams + 1 });
  // over maxStreams: reported (streams), refused by checkProbeLimits (a 422), not here. A header
  // whose picture is over maxPixels likewise (VIDEO_TOO_LARGE), before stream info decodes a
  // frame of it; where the container states no size (MPEG-TS), find-stream-info's decoders refuse
  // the picture (max_pixels) and the size still comes from the parser
  const header = firstVideoStream(fc)?.codecpar;
  const tooLarge = !!req.maxPixels && !!header && header.width * header.height > req.maxPixels;
  if (fc.nbStreams <= req.maxStreams && !tooLarge && findStreamInfo(fc, req.maxPixels) < 0)
    throw new ToolError('The file is not a video that can be read.');
  const v = firstVideoStream(fc);
  const iformat = fc.iformat?.name ?? detected?.name ?? format;
  if (!v) return { formatName: iformat, pinnedFormat: format, streams: fc.nbStreams, video: null };
  const p = v.codecpar;
  const tb = v.timeBase;
  const streamDur = v.duration !== NOPTS && v.duration > 0n ? Number(v.duration) * rat(tb) : null;
  const fileDur = fc.duration !== NOPTS && fc.duration > 0n ? Number(fc.duration) / 1e6 : null;
  const rotation = displayMatrixRotation(p.getCodedSideData(AV_PKT_DATA_DISPLAYMATRIX));
  const tag = v.metadata?.get('rotate');
  return {
    formatName: iformat,
    pinnedFormat: format,
    streams: fc.nbStreams,
    durationSec: streamDur ?? fileDur,
    bitRate: fc.bitRate > 0n ? Number(fc.bitRate) : null,
    hasAudio: fc.streams.some((s) => s.codecpar.codecType === AVMEDIA_TYPE_AUDIO),
    video: {
      index: v.index,
      codec: Codec.findDecoder(p.codecId)?.name ?? 'unknown',
      decodable: Codec.findDecoder(p.codecId) !== null,
      width: p.width,
      height: p.height,
      avgFps: rat(v.avgFrameRate),
      rFps: rat(v.rFrameRate),
      timeBase: `${tb.num}/${tb.den}`,
      nbFrames: Number(v.nbFrames),
      pixFmt: p.format >= 0 ? avGetPixFmtName(p.format as never) : null,
      // the same fields ffprobe gives: clockwiseRotation (orientation.ts) reads them
      rotationTag: tag ?? null,
      displayRotation: rotation === null ? null : Math.round(rotation * 100) / 100,
    },
  };
}

async function write(chunk: Buffer | Uint8Array | string): Promise<void> {
  if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
}

async function scan(req: ScanRequest): Promise<void> {
  const fc = openPinned(req.file, req.format);
  if (findStreamInfo(fc, req.maxPixels) < 0) throw new ToolError('The file is not a video that can be read.');
  const v = firstVideoStream(fc);
  if (!v) throw new ToolError('The file has no video stream.');
  for (const s of fc.streams) if (s.index !== v.index) s.discard = AVDISCARD_ALL;
  await write(`stream,${v.timeBase.num}/${v.timeBase.den}\n`);
  const pkt = new Packet();
  pkt.alloc();
  let lines: string[] = [];
  for (;;) {
    const ret = fc.readFrameSync(pkt);
    if (ret < 0) break;
    if (pkt.streamIndex === v.index) {
      const f = pkt.flags;
      // an empty packet (an AVI "dropped frame") gives no picture: not a frame
      const discard = f & AV_PKT_FLAG_DISCARD || pkt.size === 0;
      const flags = `${f & AV_PKT_FLAG_KEY ? 'K' : '_'}${discard ? 'D' : '_'}${f & AV_PKT_FLAG_CORRUPT ? 'C' : '_'}`;
      lines.push(
        `packet,${pkt.pts === NOPTS ? 'N/A' : pkt.pts},${pkt.dts === NOPTS ? 'N/A' : pkt.dts},${flags}`,
      );
      if (lines.length >= 2048) {
        await write(`${lines.join('\n')}\n`);
        lines = [];
      }
    }
    pkt.unref();
  }
  if (lines.length) await write(`${lines.join('\n')}\n`);
}

/** A filter graph from `buffer` (the decoder's frames) through `filters` to a sink. */
class Graph {
  private readonly graph = new FilterGraph();
  private readonly src;
  private readonly sink;
  private readonly out = new Frame();
  constructor(
    frame: Frame,
    tb: { num: number; den: number },
    filters: string,
    readonly key = `${frame.width}x${frame.height}:${frame.format}`,
  ) {
    this.graph.alloc();
    this.graph.nbThreads = 1;
    const sar = frame.sampleAspectRatio;
    const args = `video_size=${frame.width}x${frame.height}:pix_fmt=${frame.format}:time_base=${tb.num}/${tb.den}:pixel_aspect=${sar.num > 0 ? sar.num : 1}/${sar.den > 0 ? sar.den : 1}`;
    const bufferFilter = Filter.getByName('buffer');
    const sinkFilter = Filter.getByName('buffersink');
    if (!bufferFilter || !sinkFilter) throw new ToolError('The FFmpeg filters are missing.');
    const src = this.graph.createFilter(bufferFilter, 'in', args);
    const sink = this.graph.createFilter(sinkFilter, 'out');
    if (!src || !sink) throw new ToolError('The video filters could not be set up.');
    this.src = src;
    this.sink = sink;
    const outputs = FilterInOut.createList([{ name: 'in', filterCtx: src, padIdx: 0 }]);
    const inputs = FilterInOut.createList([{ name: 'out', filterCtx: sink, padIdx: 0 }]);
    if (this.graph.parse(filters, inputs, outputs) < 0 || this.graph.configSync() < 0)
      throw new ToolError('The video filters could not be set up.');
    this.out.alloc();
  }
  /** Filters one frame; returns the frames that come out (copied to buffers). */
  run(frame: Frame): Buffer[] {
    if (this.src.buffersrcAddFrameSync(frame) < 0) throw new ToolError('A frame could not be converted.');
    const res: Buffer[] = [];
    for (let i = 0; i < 8; i++) {
      if (this.sink.buffersinkGetFrameSync(this.out) < 0) break;
      res.push(this.out.toBuffer());
      this.out.unref();
    }
    return res;
  }
  /** The frame after filtering (for the encoder), or null. */
  runFrame(frame: Frame): Frame | null {
    if (this.src.buffersrcAddFrameSync(frame) < 0) throw new ToolError('A frame could not be converted.');
    const out = new Frame();
    out.alloc();
    return this.sink.buffersinkGetFrameSync(out) >= 0 ? out : null;
  }
}

/** The decoder; with `maxPixels`, it refuses a picture over decoderMaxPixels (FFmpeg's max_pixels). */
function openDecoder(stream: Stream, threads: number, maxPixels?: number): CodecContext {
  const codec = Codec.findDecoder(stream.codecpar.codecId);
  if (!codec) throw new ToolError('The video codec is not supported.');
  const cc = new CodecContext();
  cc.allocContext3(codec);
  cc.parametersToContext(stream.codecpar);
  cc.pktTimebase = stream.timeBase;
  cc.threadCount = Math.max(1, threads);
  // set on the context, not as open2's dictionary: with a dictionary, node-av 6.1.1's decoder
  // process sometimes died after its last record (chunks retried, frames counted twice)
  if (maxPixels && maxPixels > 0 && cc.setOption('max_pixels', decoderMaxPixels(maxPixels)) < 0)
    throw new ToolError('The video decoder could not be opened.');
  if (cc.open2Sync(codec, null) < 0) throw new ToolError('The video decoder could not be opened.');
  return cc;
}

/** Seconds from the stream's start of a pts (for the sentences), or null. */
function secondsOf(v: Stream, pts: bigint): number | null {
  if (pts === NOPTS) return null;
  const start = v.startTime !== NOPTS ? v.startTime : 0n;
  return Number(pts - start) * rat(v.timeBase);
}

const frameTs = (f: Frame): bigint => (f.bestEffortTimestamp !== NOPTS ? f.bestEffortTimestamp : f.pts);

async function decode(req: DecodeRequest): Promise<void> {
  const matcher = new PtsMatcher(req.frames);
  const filters = `${[...rotationFilters(req.rotation), ffmpegScaleFilter(req), 'format=rgb24'].join(',')}`;
  const frameBytes = req.width * req.height * 3;
  const summary: DecodeSummary = {
    written: 0,
    decoded: 0,
    sequential: false,
    decodeErrors: 0,
    lastError: null,
  };
  const first = req.frames.length > 0 ? req.frames[0] : 0;

  // one pass: from the seek (or the start); returns false when it must be redone from the start
  const pass = async (seekTicks: number | null): Promise<boolean> => {
    const fc = openPinned(req.file, req.format);
    try {
      if (findStreamInfo(fc, req.maxPixels) < 0)
        throw new ToolError('The file is not a video that can be read.');
      const v = firstVideoStream(fc);
      if (!v) throw new ToolError('The file has no video stream.');
      for (const s of fc.streams) if (s.index !== v.index) s.discard = AVDISCARD_ALL;
      if (
        seekTicks != null &&
        fc.seekFrameSync(v.index, BigInt(Math.floor(seekTicks)), AVSEEK_FLAG_BACKWARD) < 0
      )
        return false;
      const cc = openDecoder(v, req.threads, req.maxPixels);
      const pkt = new Packet();
      pkt.alloc();
      const frame = new Frame();
      frame.alloc();
      let graph: Graph | null = null;
      let firstSeen = false;
      let finished = false;
      const onFrame = async (): Promise<boolean> => {
        summary.decoded++;
        const ts = frameTs(frame);
        // a stream may change size in band (a new SPS): nothing over the limit is analysed, and
        // the video is refused as one whose header is over it would be
        checkPicture(frame.width, frame.height, req.maxPixels, secondsOf(v, ts));
        if (ts === NOPTS) return true;
        const pts = Number(ts);
        if (!firstSeen) {
          firstSeen = true;
          // the seek landed after the chunk's first planned frame: it cannot be trusted here
          if (seekTicks != null && pts > first) return false;
        }
        if (pts > matcher.last) {
          finished = true; // frames come out in presentation order: nothing planned is left
          return true;
        }
        const at = matcher.take(pts);
        if (at < 0) return true;
        frame.timeBase = v.timeBase;
        const key = `${frame.width}x${frame.height}:${frame.format}`;
        if (!graph || graph.key !== key) graph = new Graph(frame, v.timeBase, filters);
        for (const out of graph.run(frame)) {
          if (out.length !== frameBytes) throw new ToolError('A frame came out at the wrong size.');
          await write(encodeRecordHeader({ kind: RecordKind.frame, value: at, pts }));
          await write(out);
          summary.written++;
        }
        if (matcher.done) finished = true;
        return true;
      };
      const drain = async (): Promise<boolean> => {
        for (let i = 0; i < 64 && !finished; i++) {
          if (cc.receiveFrameSync(frame) < 0) break;
          const ok = await onFrame();
          frame.unref();
          if (!ok) return false;
        }
        return true;
      };
      while (!finished) {
        const ret = fc.readFrameSync(pkt);
        if (ret < 0) break;
        // an empty packet would put the decoder into draining mode (it means end of stream)
        if (pkt.streamIndex !== v.index || pkt.size === 0) {
          pkt.unref();
          continue;
        }
        const pktPts = pkt.pts;
        const sent = cc.sendPacketSync(pkt);
        pkt.unref();
        if (sent < 0 && sent !== -11) {
          // refused by max_pixels: the decoder took the new size, then allocated nothing
          checkPicture(cc.width, cc.height, req.maxPixels, secondsOf(v, pktPts));
          summary.decodeErrors++;
          summary.lastError = `decoder error ${sent}`;
        }
        if (!(await drain())) return false;
      }
      if (!finished) {
        cc.sendPacketSync(null);
        for (let i = 0; i < 1024 && !finished; i++) {
          if (cc.receiveFrameSync(frame) < 0) break;
          const ok = await onFrame();
          frame.unref();
          if (!ok) return false;
        }
      }
      cc.freeContext();
      return true;
    } finally {
      fc.closeInputSync();
    }
  };

  if (req.frames.length > 0 && !(await pass(req.seekTicks))) {
    summary.sequential = true;
    await pass(null);
  }
  const json = Buffer.from(JSON.stringify(summary));
  await write(encodeRecordHeader({ kind: RecordKind.end, value: json.length, pts: 0 }));
  await write(json);
}

function readStdin(max: number): Buffer {
  const bytes = readFileSync(0); // the parent bounds what it writes (the upload limit)
  if (bytes.length > max) throw new ToolError('The image is too large.');
  return bytes;
}

async function image(req: ImageRequest): Promise<void> {
  const bytes = readStdin(256 * 1024 * 1024);
  const header = readImageHeader(bytes);
  if (!header) throw new ToolError('The file is not a JPEG, PNG or WebP image.');
  if (header.width * header.height > req.maxPixels) {
    throw new ToolError(
      `The image is ${header.width}x${header.height} pixels, more than the ${req.maxPixels} pixels this server accepts.`,
    );
  }
  const id =
    header.kind === 'png' ? AV_CODEC_ID_PNG : header.kind === 'jpeg' ? AV_CODEC_ID_MJPEG : AV_CODEC_ID_WEBP;
  const codec = Codec.findDecoder(id);
  if (!codec) throw new ToolError('The image codec is not available.');
  const cc = new CodecContext();
  cc.allocContext3(codec);
  cc.threadCount = 1;
  if (cc.open2Sync(codec, null) < 0) throw new ToolError('The image decoder could not be opened.');
  const pkt = new Packet();
  pkt.alloc();
  pkt.data = bytes;
  const frame = new Frame();
  frame.alloc();
  let ok = cc.sendPacketSync(pkt) >= 0 && cc.receiveFrameSync(frame) >= 0;
  if (!ok) {
    cc.sendPacketSync(null);
    ok = cc.receiveFrameSync(frame) >= 0;
  }
  if (!ok) throw new ToolError('The image could not be decoded; it may be truncated or corrupt.');
  if (
    frame.width * frame.height > req.maxPixels ||
    frame.width !== header.width ||
    frame.height !== header.height
  )
    throw new ToolError('The image could not be decoded; its header does not match its pictures.');
  frame.timeBase = { num: 1, den: 25 } as never;
  frame.pts = 0n;
  const g = new Graph(frame, { num: 1, den: 25 }, `${ffmpegScaleFilter(req)},format=rgb24`);
  const out = g.run(frame)[0];
  if (!out || out.length !== req.width * req.height * 3)
    throw new ToolError('The image could not be converted.');
  const head = Buffer.alloc(8);
  head.writeUInt32LE(header.width, 0);
  head.writeUInt32LE(header.height, 4);
  await write(head);
  await write(out);
}

async function jpeg(req: JpegRequest): Promise<void> {
  const fc = openPinned(req.file, req.format);
  if (findStreamInfo(fc, req.maxPixels) < 0) throw new ToolError('The file is not a video that can be read.');
  const v = firstVideoStream(fc);
  if (!v) throw new ToolError('The file has no video stream.');
  for (const s of fc.streams) if (s.index !== v.index) s.discard = AVDISCARD_ALL;
  const tbSec = rat(v.timeBase);
  // the stream's first pts: timeSec counts from the first frame (as FrameScan.timestamps do)
  const start = v.startTime !== NOPTS ? Number(v.startTime) : 0;
  const target = start + Math.round(req.timeSec / tbSec);
  const half = Math.max(1, Math.round(0.5 / (rat(v.avgFrameRate) || 25) / tbSec));
  fc.seekFrameSync(v.index, BigInt(target), AVSEEK_FLAG_BACKWARD);
  const cc = openDecoder(v, 1, req.maxPixels);
  const pkt = new Packet();
  pkt.alloc();
  let frame = new Frame();
  frame.alloc();
  let chosen: Frame | null = null;
  let last: Frame | null = null;
  const consider = (): boolean => {
    const ts = frameTs(frame);
    checkPicture(frame.width, frame.height, req.maxPixels, secondsOf(v, ts));
    last?.free();
    last = frame.clone();
    if (ts !== NOPTS && Number(ts) >= target - half) {
      chosen = frame;
      return true;
    }
    frame.unref();
    return false;
  };
  outer: for (let guard = 0; guard < 100_000; guard++) {
    if (fc.readFrameSync(pkt) < 0) break;
    if (pkt.streamIndex !== v.index || pkt.size === 0) {
      pkt.unref();
      continue;
    }
    const pktPts = pkt.pts;
    if (cc.sendPacketSync(pkt) < 0) checkPicture(cc.width, cc.height, req.maxPixels, secondsOf(v, pktPts));
    pkt.unref();
    for (let i = 0; i < 64; i++) {
      if (cc.receiveFrameSync(frame) < 0) break;
      if (consider()) break outer;
    }
  }
  if (!chosen) {
    cc.sendPacketSync(null);
    for (let i = 0; i < 1024; i++) {
      if (cc.receiveFrameSync(frame) < 0) break;
      if (consider()) break;
    }
  }
  // past the end: there is no frame at that time (but a time within the last frame takes it)
  if (!chosen) throw new ToolError(`There is no frame at ${req.timeSec.toFixed(3)} s.`);
  frame = chosen as Frame;
  frame.timeBase = v.timeBase;
  const even = req.width - (req.width % 2);
  const parts = [...rotationFilters(req.rotation)];
  if (req.crop) {
    const c = req.crop;
    parts.push(
      `crop=${Math.max(2, Math.round(c.w))}:${Math.max(2, Math.round(c.h))}:${Math.round(c.x)}:${Math.round(c.y)}:exact=1`,
    );
  }
  parts.push(`scale=${even}:-2:flags=bilinear`, 'format=yuvj420p');
  const g = new Graph(frame, v.timeBase, parts.join(','));
  const out = g.runFrame(frame);
  if (!out) throw new ToolError('The frame could not be converted.');
  const enc = Codec.findEncoder(AV_CODEC_ID_MJPEG);
  if (!enc) throw new ToolError('The JPEG encoder is not available.');
  const ec = new CodecContext();
  ec.allocContext3(enc);
  ec.width = out.width;
  ec.height = out.height;
  ec.pixelFormat = AV_PIX_FMT_YUVJ420P;
  ec.timeBase = { num: 1, den: 25 } as never;
  ec.qMin = 3;
  ec.qMax = 5;
  if (ec.open2Sync(enc, null) < 0) throw new ToolError('The JPEG encoder could not be opened.');
  out.pts = 0n;
  if (ec.sendFrameSync(out) < 0) throw new ToolError('The frame could not be encoded.');
  ec.sendFrameSync(null);
  const jp = new Packet();
  jp.alloc();
  if (ec.receivePacketSync(jp) < 0 || !jp.data) throw new ToolError('The frame could not be encoded.');
  await write(Buffer.from(jp.data));
}

async function main(): Promise<void> {
  Log.setLevel(AV_LOG_FATAL);
  const [cmd, json] = process.argv.slice(2);
  const req = JSON.parse(json ?? '{}');
  switch (cmd) {
    case 'probe':
      await write(JSON.stringify(probe(req)));
      return;
    case 'scan':
      return scan(req);
    case 'decode':
      return decode(req);
    case 'image':
      return image(req);
    case 'jpeg':
      return jpeg(req);
    default:
      throw new ToolError(`unknown command ${cmd}`);
  }
}

/**
 * Exits once everything written has left this process: a write to a full pipe (the parent reads
 * at the detector's pace) is queued, and process.exit would drop it (the end record with it).
 */
function flushThenExit(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main().then(
  () => flushThenExit(0),
  (err: unknown) => {
    const message =
      err instanceof ToolError
        ? err.message
        : `The media tool failed: ${String((err as Error)?.message ?? err)}.`;
    const code = err instanceof ToolError ? err.code : undefined;
    process.stderr.write(`\n@@error ${JSON.stringify({ message, known: err instanceof ToolError, code })}\n`);
    flushThenExit(3);
  },
);
