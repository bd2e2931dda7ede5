/**
 * The render child program: run by src/media/render.ts through the media branch's child runner
 * (src/media/av/child.ts: timeout, RSS bound, one-sentence failures), so a crash in the decoder or
 * the encoder ends this process, not the worker. It decodes every frame of the source with node-av
 * (FFmpeg's libraries), turns it upright, draws the boxes of the nearest analysed frame (draw.ts,
 * overlay.ts), encodes H.264 yuv420p with libx264 and writes an MP4 with the moov atom first
 * (+faststart), the audio copied (transcoded to AAC where MP4 cannot carry it).
 *
 * Input: argv[2] is the RenderSpec as JSON; the analysed frames are an NDJSON file (one
 * OverlayFrame a line, in frame order) that the parent wrote, read here a block at a time.
 * Output on stdout, one JSON object a line:
 *   { "progress": <source frames written> }   now and then
 *   { "done": true, "frames": n, "audio": bool }
 *   { "error": "<one sentence>" }             then exit code 1
 */
import { open } from 'node:fs/promises';
import { labelColor } from '../../api/label-colors.js';
import { decoderMaxPixels, framePixelsRefusal } from '../av/protocol.js';
import { rotationFilters } from '../orientation.js';
import { drawOverlay, yuv420Planes } from './draw.js';
import { NearestFrames, type OverlayFrame } from './overlay.js';

// node-av's high-level API uses Promise.withResolvers (Node 22); this service runs on Node 20
if (!('withResolvers' in Promise)) {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (v: T) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((a, b) => {
        resolve = a;
        reject = b;
      });
      return { promise, resolve, reject };
    },
  });
}

export interface RenderSpec {
  input: string;
  output: string;
  /** the analysed frames: NDJSON, one OverlayFrame a line, in frame order */
  overlays: string;
  /** the container pinned at the upload (mov, matroska, …): opened as that and nothing else */
  format?: string;
  /** clockwise display rotation of the source (the job's probe): the output is upright */
  rotation: number;
  /** MAX_VIDEO_PIXELS: the decoder refuses bigger pictures (max_pixels), every frame is checked */
  maxPixels?: number;
  /** libx264 settings */
  crf: number;
  preset: string;
}

const emit = (m: unknown) =>
  new Promise<void>((resolve) => {
    process.stdout.write(`${JSON.stringify(m)}\n`, () => resolve());
  });

function describe(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
  return msg.slice(0, 300) || 'unknown error';
}

/** The NDJSON file's frames, one at a time, read 64 kB at a time. */
async function framesFromFile(
  path: string,
): Promise<{ next: () => Promise<OverlayFrame | null>; close: () => Promise<void> }> {
  const fh = await open(path, 'r');
  const buf = Buffer.alloc(64 * 1024);
  let rest = '';
  let lines: string[] = [];
  let eof = false;
  return {
    async next() {
      for (;;) {
        const line = lines.shift();
        if (line !== undefined) {
          if (line.trim() === '') continue;
          return JSON.parse(line) as OverlayFrame;
        }
        if (eof) return null;
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) {
          eof = true;
          lines = [rest];
          rest = '';
          continue;
        }
        const parts = (rest + buf.toString('utf8', 0, bytesRead)).split('\n');
        rest = parts.pop() ?? '';
        lines = parts;
      }
    },
    close: () => fh.close(),
  };
}

// this module is only ever run as a program (render.ts imports its types only)
try {
  const spec = JSON.parse(process.argv[2] ?? '') as RenderSpec;
  const r = await render(spec);
  await emit({ done: true, ...r });
  process.exit(0);
} catch (e) {
  await emit({ error: describe(e) });
  process.exit(1);
}

async function render(spec: RenderSpec): Promise<{ frames: number; audio: boolean }> {
  const { Decoder, Demuxer, Encoder, FilterAPI, Muxer } = await import('node-av/api');
  const { Log } = await import('node-av/lib');
  const C = await import('node-av/constants');
  Log.setLevel(C.AV_LOG_ERROR);

  // as the media tool opens files: the pinned container only, local files only, no references
  const input = await Demuxer.open(
    spec.input,
    spec.format
      ? {
          format: spec.format,
          options: {
            protocol_whitelist: 'file',
            format_whitelist: spec.format,
            enable_drefs: 0,
            use_absolute_path: 0,
          },
        }
      : {},
  );
  const closers: (() => unknown)[] = [() => input.close()];
  try {
    const vs = input.video();
    if (!vs) throw new Error('the file has no video stream');
    const as = input.audio();
    const maxPixels = spec.maxPixels && spec.maxPixels > 0 ? spec.maxPixels : null;
    const decoder = await Decoder.create(
      vs,
      maxPixels ? { options: { max_pixels: decoderMaxPixels(maxPixels) } } : {},
    );
    closers.push(() => decoder.close());
    const { width, height } = vs.codecpar;
    const turned = rotationFilters(spec.rotation);
    const sideways = turned.some((f) => f.startsWith('transpose'));
    const [w, h] = sideways ? [height, width] : [width, height];
    // H.264 4:2:0 needs even sizes: an odd row or column is repeated (pad), never cut
    const pad = w % 2 || h % 2 ? ['pad=ceil(iw/2)*2:ceil(ih/2)*2'] : [];
    const filter = FilterAPI.create([...turned, ...pad, 'format=yuv420p'].join(','));
    closers.push(() => filter.close());
    const rate = vs.avgFrameRate.num > 0 ? vs.avgFrameRate : vs.rFrameRate;
    const encoder = await Encoder.create(C.FF_ENCODER_LIBX264, {
      options: {
        preset: spec.preset,
        crf: spec.crf,
        // frame rate for x264's level and rate control; timestamps stay the source's own (VFR kept)
        ...(rate.num > 0 ? { 'x264-params': `fps=${rate.num}/${rate.den}` } : {}),
      },
    });
    closers.push(() => encoder.close());
    const muxer = await Muxer.open(spec.output, { format: 'mp4', options: { movflags: '+faststart' } });
    closers.unshift(() => muxer.close());
    const vOut = muxer.addStream(encoder);

    // audio: copied when MP4 carries the codec, else decoded and encoded as AAC
    const MP4_AUDIO = new Set([
      C.AV_CODEC_ID_AAC,
      C.AV_CODEC_ID_MP3,
      C.AV_CODEC_ID_AC3,
      C.AV_CODEC_ID_EAC3,
      C.AV_CODEC_ID_OPUS,
      C.AV_CODEC_ID_ALAC,
      C.AV_CODEC_ID_FLAC,
    ]);
    let aOut: number | null = null;
    let aDecoder: Awaited<ReturnType<typeof Decoder.create>> | null = null;
    let aEncoder: Awaited<ReturnType<typeof Encoder.create>> | null = null;
    if (as) {
      if (MP4_AUDIO.has(as.codecpar.codecId)) aOut = muxer.addStream(as);
      else {
        aDecoder = await Decoder.create(as);
        closers.push(() => aDecoder?.close());
        aEncoder = await Encoder.create(C.FF_ENCODER_AAC, { decoder: aDecoder, autoResample: true });
        closers.push(() => aEncoder?.close());
        aOut = muxer.addStream(aEncoder, { inputStream: as });
      }
    }

    const source = await framesFromFile(spec.overlays);
    closers.push(() => source.close());
    const overlays = new NearestFrames(source.next);
    let n = 0;
    let lastReport = 0;
    const writeVideo = async (frame: import('node-av/lib').Frame) => {
      const buf = frame.toBuffer();
      const pic = yuv420Planes(buf, frame.width, frame.height);
      drawOverlay(pic, await overlays.boxesFor(n), labelColor);
      frame.makeWritable();
      frame.fromBuffer(buf);
      n++;
      for (const p of await encoder.encodeAll(frame)) await muxer.writePacket(p, vOut);
      if (n - lastReport >= 25) {
        lastReport = n;
        await emit({ progress: n });
      }
    };
    const decoded = async (frame: import('node-av/lib').Frame | null) => {
      const refusal = frame && maxPixels ? framePixelsRefusal(frame.width, frame.height, maxPixels) : null;
      if (refusal) throw new Error(refusal);
      for (const f of await filter.processAll(frame as import('node-av/lib').Frame)) await writeVideo(f);
    };

    for await (const packet of input.packets()) {
      if (!packet) break;
      try {
        if (packet.streamIndex === vs.index) {
          for (const f of await decoder.decodeAll(packet)) await decoded(f);
        } else if (as && packet.streamIndex === as.index && aOut !== null) {
          if (aDecoder && aEncoder) {
            for (const f of await aDecoder.decodeAll(packet))
              for (const p of await aEncoder.encodeAll(f)) await muxer.writePacket(p, aOut);
          } else await muxer.writePacket(packet, aOut);
        }
      } finally {
        packet.free();
      }
    }
    for (const f of await decoder.decodeAll(null)) await decoded(f);
    for (const f of await filter.processAll(null as unknown as import('node-av/lib').Frame))
      await writeVideo(f);
    for (const p of await encoder.encodeAll(null)) await muxer.writePacket(p, vOut);
    if (aDecoder && aEncoder && aOut !== null) {
      for (const f of await aDecoder.decodeAll(null))
        for (const p of await aEncoder.encodeAll(f)) await muxer.writePacket(p, aOut);
      for (const p of await aEncoder.encodeAll(null)) await muxer.writePacket(p, aOut);
    }
    if (n === 0) throw new Error('no frame of the video could be decoded');
    await muxer.close();
    return { frames: n, audio: aOut !== null };
  } finally {
    for (const close of closers) {
      try {
        await close();
      } catch {
        // closing after a failure: the first error is the one that counts
      }
    }
  }
}
