import type { FastifyReply, FastifyRequest } from 'fastify';
import { type NotFoundError, RangeNotSatisfiableError } from '../errors.js';
import type { BlobStore } from '../storage/local.js';
import { parseRange } from './range.js';

/**
 * Sends a stored file to a <video>: ETag, Last-Modified, HTTP Range (206, If-Range, 416), HEAD.
 * Shared by the job's video and its annotated videos (src/http/routes/media.ts, renders.ts).
 */
export async function sendBlob(
  request: FastifyRequest,
  reply: FastifyReply,
  opts: {
    storage: Pick<BlobStore, 'stat' | 'createReadStream'>;
    key: string;
    contentType: string;
    /** the 404 when the file is gone */
    missing: () => NotFoundError;
    /** what a 416 says */
    what: string;
  },
) {
  const { storage, key } = opts;
  const st = await storage.stat(key);
  if (!st) throw opts.missing();
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtime.getTime()).toString(16)}"`;
  reply
    .header('accept-ranges', 'bytes')
    .header('content-type', opts.contentType)
    .header('etag', etag)
    .header('last-modified', st.mtime.toUTCString())
    .header('cache-control', 'private, max-age=300')
    .header('x-content-type-options', 'nosniff');

  // If-Range: a range only if the file is still the one the client has
  const ifRange = request.headers['if-range'];
  const stale = ifRange && ifRange !== etag && ifRange !== st.mtime.toUTCString();
  const range = parseRange(stale ? undefined : request.headers.range, st.size);
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${st.size}`);
    throw new RangeNotSatisfiableError(`The requested byte range is outside the ${opts.what}.`);
  }
  if (range) {
    reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${st.size}`)
      .header('content-length', range.end - range.start + 1);
  } else {
    reply.code(200).header('content-length', st.size);
  }
  if (request.method === 'HEAD' || st.size === 0) return reply.send();
  return reply.send(storage.createReadStream(key, range ?? undefined));
}
